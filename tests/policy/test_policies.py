"""Each policy of the pack: a compliant resource passes, a violating one is reported (with why)."""
from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from localcloud.policy import evaluate
from policy.opsflows_policies import POLICIES
from policy.opsflows_policies.iam import STAR_ONLY

ROOT = "arn:aws:iam::123456789012:root"
LOGS = "arn:aws:logs:us-west-2:123456789012:log-group:/aws/lambda/f:*"
BUCKET_ARN = "arn:aws:s3:::opsflows-results"


def resource(type_: str, name: str = "r", **inputs: Any) -> SimpleNamespace:
    return SimpleNamespace(type=type_, name=name, urn="", id=f"{name}-id", custom=True, inputs=inputs,
                           outputs=dict(inputs))


def document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def violations(policy: str, *resources: SimpleNamespace, stack_config: dict | None = None,
               pack_config: dict | None = None) -> list[str]:
    assert policy in {p.name for p in POLICIES}
    found = evaluate(list(resources), "test", stack_config or {}, pack_config)
    return [v.message for v in found if v.policy == policy]


def role_policy(*statements: dict) -> SimpleNamespace:
    return resource("aws:iam/rolePolicy:RolePolicy", policy=document(*statements), role="r")


# --- iam-no-wildcard-actions -------------------------------------------------------------------------------

def test_named_actions_pass():
    assert violations("iam-no-wildcard-actions", role_policy(
        allow(["s3:GetObject", "s3:PutObject"], f"{BUCKET_ARN}/*"), allow("kms:GenerateDataKey*", ROOT))) == []


@pytest.mark.parametrize("action", ["*", "s3:*", ["s3:GetObject", "iam:*"]])
def test_wildcard_actions_are_reported(action):
    [message] = violations("iam-no-wildcard-actions", role_policy(allow(action, BUCKET_ARN)))
    assert "statement 0" in message and "*" in message


def test_wildcards_are_found_in_every_kind_of_document():
    wild = document(allow("sns:*", "arn:aws:sns:us-west-2:123456789012:t"))
    found = violations(
        "iam-no-wildcard-actions",
        resource("aws:iam/policy:Policy", policy=wild),
        resource("aws:iam/role:Role", assumeRolePolicy=document(), inlinePolicies=[{"name": "i", "policy": wild}]),
        resource("aws:sns/topicPolicy:TopicPolicy", policy=wild, arn="t"),
        resource("aws:s3/bucketPolicy:BucketPolicy", policy=wild, bucket="b"))
    assert len(found) == 4 and any("inlinePolicies[0].policy" in m for m in found)


def test_deny_with_wildcard_and_key_root_delegation_pass():
    deny_insecure = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": BUCKET_ARN,
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    key = resource("aws:kms/key:Key", policy=document(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}))
    assert violations("iam-no-wildcard-actions", key,
                      resource("aws:s3/bucketPolicy:BucketPolicy", policy=document(deny_insecure))) == []


def test_key_policy_granting_kms_star_to_a_role_is_reported():
    key = resource("aws:kms/key:Key", policy=document(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"}, "Action": "kms:*",
         "Resource": "*"}))
    assert len(violations("iam-no-wildcard-actions", key)) == 1


def test_not_action_and_broad_managed_policies_are_reported():
    found = violations(
        "iam-no-wildcard-actions",
        role_policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", role="r",
                 policyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"),
        resource("aws:iam/role:Role", assumeRolePolicy=document(),
                 managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"]))
    assert len(found) == 3


# --- iam-resource-star-allowlist ---------------------------------------------------------------------------

def test_star_for_star_only_actions_passes():
    assert violations("iam-resource-star-allowlist", role_policy(
        allow(["xray:PutTraceSegments", "ec2:DescribeSnapshots", "cloudtrail:LookupEvents"]),
        allow("ec2:DeleteSnapshot", "arn:aws:ec2:us-west-2::snapshot/*"))) == []


def test_star_for_actions_with_resource_types_is_reported():
    [message] = violations("iam-resource-star-allowlist",
                           role_policy(allow(["ec2:DescribeSnapshots", "ec2:DeleteSnapshot"], ["*"])))
    assert "ec2:DeleteSnapshot" in message and "DescribeSnapshots" not in message


def test_not_resource_is_reported_and_key_policies_may_use_star():
    key = resource("aws:kms/key:Key", policy=document(
        {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt"], "Resource": "*"}))
    assert violations("iam-resource-star-allowlist", key) == []
    assert len(violations("iam-resource-star-allowlist",
                          role_policy({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": BUCKET_ARN}))) == 1


def test_allowlist_holds_only_actions_without_resource_types():
    """Cross-check against parliament's catalogue of AWS actions: every action the allowlist admits supports
    `Resource: "*"` only (no resource types). Guards the allowlist from growing into a loophole."""
    import parliament
    admitted = []
    for service in parliament.iam_definition:
        for privilege in service["privileges"]:
            action = f"{service['prefix']}:{privilege['privilege']}"
            if action.lower() in {a.lower() for a in STAR_ONLY}:
                admitted.append((action, [r["resource_type"] for r in privilege["resource_types"]]))
    assert sorted(a.lower() for a, _ in admitted) == sorted(a.lower() for a in STAR_ONLY)   # each one exists
    assert [a for a, types in admitted if any(t for t in types)] == []


# --- per-resource guardrails -------------------------------------------------------------------------------

def test_sns_topics_must_be_kms_encrypted():
    assert violations("sns-topic-kms-encrypted", resource("aws:sns/topic:Topic", kmsMasterKeyId="arn:aws:kms:k")) == []
    assert len(violations("sns-topic-kms-encrypted", resource("aws:sns/topic:Topic"))) == 1


def state_machine(**inputs: Any) -> SimpleNamespace:
    return resource("aws:sfn/stateMachine:StateMachine", definition="{}", roleArn="arn", **inputs)


def test_state_machines_must_log_and_trace():
    good = state_machine(loggingConfiguration={"level": "ALL", "logDestination": f"{LOGS}"},
                         tracingConfiguration={"enabled": True})
    assert violations("sfn-logging-and-tracing", good) == []
    assert len(violations("sfn-logging-and-tracing", state_machine())) == 2
    assert len(violations("sfn-logging-and-tracing", state_machine(
        loggingConfiguration={"level": "OFF"}, tracingConfiguration={"enabled": True}))) == 1


def function(**inputs: Any) -> SimpleNamespace:
    return resource("aws:lambda/function:Function", role="arn", handler="a.handler", **inputs)


def test_lambda_runtime_and_tracing():
    assert violations("lambda-supported-runtime-traced",
                      function(runtime="python3.12", tracingConfig={"mode": "Active"}),
                      function(packageType="Image", tracingConfig={"mode": "Active"})) == []
    assert len(violations("lambda-supported-runtime-traced", function(runtime="python2.7"))) == 2
    assert len(violations("lambda-supported-runtime-traced", function(runtime="python3.12"),
                          pack_config={"lambda-supported-runtime-traced": {"runtimes": ["python3.13"]}})) == 2


def test_log_groups_need_retention():
    assert violations("log-group-retention", resource("aws:cloudwatch/logGroup:LogGroup", retentionInDays=30.0)) == []
    assert len(violations("log-group-retention", resource("aws:cloudwatch/logGroup:LogGroup"))) == 1


def test_eventbridge_targets_to_state_machines_carry_a_role():
    sm = "arn:aws:states:us-west-2:123456789012:stateMachine:flow"
    target = "aws:cloudwatch/eventTarget:EventTarget"
    assert violations("eventbridge-sfn-target-role", resource(target, rule="r", arn=sm, roleArn="arn:role"),
                      resource(target, rule="r", arn="arn:aws:sns:us-west-2:123456789012:t")) == []
    assert len(violations("eventbridge-sfn-target-role", resource(target, rule="r", arn=sm))) == 1


def compute_environment(max_vcpus: float) -> SimpleNamespace:
    return resource("aws:batch/computeEnvironment:ComputeEnvironment", type="MANAGED",
                    computeResources={"type": "SPOT", "maxVcpus": max_vcpus, "subnets": ["subnet-1"]})


def test_batch_compute_environments_are_capped():
    assert violations("batch-max-vcpus", compute_environment(256.0)) == []
    [message] = violations("batch-max-vcpus", compute_environment(512.0))
    assert "maxVcpus is 512;" in message and "cap is 256" in message
    assert violations("batch-max-vcpus", compute_environment(512.0),
                      pack_config={"batch-max-vcpus": {"maxVcpus": 1024}}) == []


# --- s3-block-public-access (stack policy) -----------------------------------------------------------------

def bucket_with_block(**settings: bool) -> list[SimpleNamespace]:
    on = dict(blockPublicAcls=True, blockPublicPolicy=True, ignorePublicAcls=True, restrictPublicBuckets=True)
    return [resource("aws:s3/bucket:Bucket", name="results", bucket="opsflows-results-1a2b"),
            resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name="results-block",
                     bucket="opsflows-results-1a2b", **{**on, **settings})]


def test_buckets_with_a_full_public_access_block_pass():
    assert violations("s3-block-public-access", *bucket_with_block()) == []


def test_buckets_without_or_with_a_partial_block_are_reported():
    assert violations("s3-block-public-access", bucket_with_block()[0]) == [
        "bucket results has no BucketPublicAccessBlock: add one with all four settings true"]
    [message] = violations("s3-block-public-access", *bucket_with_block(restrictPublicBuckets=False))
    assert "restrictPublicBuckets" in message


# --- required-tags (advisory) ------------------------------------------------------------------------------

def test_required_tags_come_from_stack_config_and_are_advisory():
    tags = {"opsflows:tags": {"team": "sre", "cost-center": "42"}}
    tagged = resource("aws:sns/topic:Topic", kmsMasterKeyId="k", tags={"team": "sre", "cost-center": "42"})
    assert violations("required-tags", tagged, resource("aws:iam/rolePolicy:RolePolicy", policy=document()),
                      stack_config=tags) == []
    found = evaluate([resource("aws:sns/topic:Topic", kmsMasterKeyId="k", tags={"team": "sre"})], "t", tags)
    assert [(v.policy, v.level) for v in found] == [("required-tags", "advisory")]
    assert "cost-center" in found[0].message


def test_provider_default_tags_count():
    config = {"opsflows:tags": {"team": "sre"}, "aws:defaultTags": {"tags": {"team": "sre"}}}
    assert violations("required-tags", resource("aws:sns/topic:Topic", kmsMasterKeyId="k"),
                      stack_config=config) == []


def test_a_block_linked_by_dependency_covers_a_bucket_whose_name_is_unknown_at_preview():
    from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    from policy.opsflows_policies.s3 import buckets_block_public_access
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    bucket = PolicyResource("aws:s3/bucket:Bucket", unknown_checking_proxy({"bucket": UNKNOWN_STRING_VALUE}),
                            "urn:b", "results", opts, None, None, [], {})
    settings = {s: True for s in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}
    block = PolicyResource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                           unknown_checking_proxy({"bucket": UNKNOWN_STRING_VALUE, **settings}), "urn:p", "block",
                           opts, None, None, [bucket], {"bucket": [bucket]})
    reported = []
    buckets_block_public_access.validate(StackValidationArgs([bucket, block]), lambda m, u=None: reported.append(m))
    assert reported == []
    block.property_dependencies = {}
    buckets_block_public_access.validate(StackValidationArgs([bucket, block]), lambda m, u=None: reported.append(m))
    assert len(reported) == 1
