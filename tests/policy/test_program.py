"""The program itself, as registered under the local cloud's mocks, passes every mandatory policy; the checks
reach every IAM document and every taggable resource it creates, whatever capability adds them."""
from __future__ import annotations

import json

import pulumi_aws
import pytest

from localcloud import policy as verdict
from policy.opsflows_policies.iam import DOCUMENTS, documents
from policy.opsflows_policies.tags import TAGGABLE


@pytest.mark.parametrize("variant", sorted(verdict.VARIANTS))
def test_program_passes_every_mandatory_policy(variant):
    dep = verdict.deployed(variant)
    found = verdict.evaluate(dep.resources, dep.stack, dep.config)
    assert [v.render() for v in found if v.level == "mandatory"] == []


def test_verdict_exits_non_zero_and_says_why_on_a_mandatory_violation(tmp_path, capsys):
    config = tmp_path / "pack.json"
    config.write_text(json.dumps({"lambda-supported-runtime-traced": {"runtimes": ["python3.13"]}}))
    assert verdict.main(["--stack", "dr", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "[mandatory]  lambda-supported-runtime-traced  (aws:lambda/function:Function: snapshots-tag-fn)" in out
    assert "Lambda runtime 'python3.12' is not supported" in out


def _looks_like_iam(value) -> bool:
    try:
        return isinstance(value, str) and "Statement" in json.loads(value)
    except ValueError:
        return False


@pytest.mark.parametrize("variant", sorted(verdict.VARIANTS))
def test_every_iam_document_the_program_renders_is_inspected(variant):
    resources = verdict.deployed(variant).resources
    carried = {(r.type, k) for r in resources for k, v in r.inputs.items() if _looks_like_iam(v)}
    assert {t for t, _ in carried} <= set(DOCUMENTS)
    for r in resources:
        inspected = {where for where, _, _ in documents(r.type, r.inputs)}
        assert {k for k, v in r.inputs.items() if _looks_like_iam(v)} <= inspected, r.name


def _aws_class(type_token: str):
    module, name = type_token.split(":")[1].split("/")[0], type_token.split(":")[2]
    return getattr(getattr(pulumi_aws, module, None) or getattr(pulumi_aws, f"{module}_"), name)


@pytest.mark.parametrize("variant", sorted(verdict.VARIANTS))
def test_every_taggable_type_the_program_registers_is_known_to_the_tag_policy(variant):
    types = {r.type for r in verdict.deployed(variant).resources if r.custom and r.type.startswith("aws:")}
    taggable = {t for t in types if hasattr(_aws_class(t), "tags")}
    assert taggable - TAGGABLE == set()
