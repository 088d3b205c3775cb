"""The pack as `pulumi preview --policy-pack policy` runs it: the CLI starts `python -m pulumi.policy <engine>
policy` and talks gRPC to the analyzer it serves. Same here, with the requests the engine sends."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analyzer():
    pack = subprocess.Popen([sys.executable, "-m", "pulumi.policy", "127.0.0.1:0", "policy"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(pack.stdout.readline().strip() or 0)
        assert port, pack.stderr.read()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        pack.kill()
        pack.wait()


def analyze(stub, type_: str, props: dict) -> list:
    properties = struct_pb2.Struct()
    properties.update(props)
    request = analyzer_pb2.AnalyzeRequest(type=type_, properties=properties, name="r",
                                          urn=f"urn:pulumi:primary::opsflows::{type_}::r")
    return list(stub.Analyze(request).diagnostics)


def test_pack_serves_every_policy(analyzer):
    from policy.opsflows_policies import POLICIES
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "opsflows"
    assert sorted(p.name for p in info.policies) == sorted(p.name for p in POLICIES)


def test_pack_reports_a_violation_as_mandatory(analyzer):
    [diagnostic] = analyze(analyzer, "aws:sns/topic:Topic", {"name": "alerts"})
    assert diagnostic.policyName == "sns-topic-kms-encrypted"
    assert diagnostic.enforcementLevel == analyzer_pb2.EnforcementLevel.Value("MANDATORY")
    assert analyze(analyzer, "aws:sns/topic:Topic", {"kmsMasterKeyId": "arn:aws:kms:us-west-2:1:key/k"}) == []


def test_unknown_documents_at_preview_are_reported_as_not_checkable(analyzer):
    diagnostics = analyze(analyzer, "aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": UNKNOWN_STRING_VALUE})
    assert {d.policyName for d in diagnostics} == {"iam-no-wildcard-actions", "iam-resource-star-allowlist"}
    assert all("during preview" in d.message and d.enforcementLevel == analyzer_pb2.EnforcementLevel.Value(
        "ADVISORY") for d in diagnostics)
