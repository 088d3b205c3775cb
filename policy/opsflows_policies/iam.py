"""IAM policy documents as the engine sees them, and the least-privilege policies over them.

Documents are read from every resource type that carries one (identity policies, role inline and trust
policies, KMS key / SNS topic / S3 bucket / SQS queue / log resource policies), so a capability that adds
such a resource is checked without touching this module.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

IDENTITY, TRUST, KEY, RESOURCE = "identity", "trust", "key", "resource"

# type token -> [(property, kind)]: where IAM documents live in resource inputs (Pulumi wire format).
DOCUMENTS: dict[str, list[tuple[str, str]]] = {
    "aws:iam/rolePolicy:RolePolicy": [("policy", IDENTITY)],
    "aws:iam/policy:Policy": [("policy", IDENTITY)],
    "aws:iam/userPolicy:UserPolicy": [("policy", IDENTITY)],
    "aws:iam/groupPolicy:GroupPolicy": [("policy", IDENTITY)],
    "aws:iam/role:Role": [("assumeRolePolicy", TRUST)],          # + inlinePolicies[].policy, below
    "aws:kms/key:Key": [("policy", KEY)],
    "aws:kms/keyPolicy:KeyPolicy": [("policy", KEY)],
    "aws:sns/topic:Topic": [("policy", RESOURCE)],
    "aws:sns/topicPolicy:TopicPolicy": [("policy", RESOURCE)],
    "aws:s3/bucket:Bucket": [("policy", RESOURCE)],
    "aws:s3/bucketPolicy:BucketPolicy": [("policy", RESOURCE)],
    "aws:sqs/queue:Queue": [("policy", RESOURCE)],
    "aws:sqs/queuePolicy:QueuePolicy": [("policy", RESOURCE)],
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": [("policyDocument", RESOURCE)],
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": [("policy", RESOURCE)],
}

# Actions that support no resource-level permission: `Resource: "*"` is the only valid form for them
# (AWS Service Authorization Reference; cross-checked against parliament's catalogue in tests/policy).
# Exact names, no patterns: newer EC2 Describe* calls do take resource types, so `ec2:Describe*` is too wide.
STAR_ONLY: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray writes: no resource types",
    "xray:PutTelemetryRecords": "X-Ray writes: no resource types",
    "xray:GetSamplingRules": "X-Ray SDK sampling: no resource types",
    "xray:GetSamplingTargets": "X-Ray SDK sampling: no resource types",
    "ec2:DescribeSnapshots": "EC2 describe calls: no resource types",
    "ec2:DescribeVolumes": "EC2 describe calls: no resource types",
    "ec2:DescribeInstances": "EC2 describe calls: no resource types",
    "ec2:DescribeSubnets": "EC2 describe calls: no resource types",
    "ec2:DescribeSecurityGroups": "EC2 describe calls: no resource types",
    "ec2:DescribeRegions": "EC2 describe calls: no resource types",
    "cloudtrail:LookupEvents": "CloudTrail event history: no resource types",
    "logs:CreateLogDelivery": "vended log delivery (Step Functions logging): no resource types",
    "logs:GetLogDelivery": "vended log delivery: no resource types",
    "logs:UpdateLogDelivery": "vended log delivery: no resource types",
    "logs:DeleteLogDelivery": "vended log delivery: no resource types",
    "logs:ListLogDeliveries": "vended log delivery: no resource types",
    "logs:PutResourcePolicy": "log resource policies are account-wide: no resource types",
    "logs:DescribeResourcePolicies": "log resource policies are account-wide: no resource types",
    "logs:DescribeLogGroups": "lists log groups: no resource types",
    "batch:DescribeJobs": "Batch describe calls: no resource types",
    "batch:DescribeJobQueues": "Batch describe calls: no resource types",
    "batch:DescribeJobDefinitions": "Batch describe calls: no resource types",
    "batch:DescribeComputeEnvironments": "Batch describe calls: no resource types",
    "batch:ListJobs": "Batch list calls: no resource types",
    "health:DescribeEvents": "AWS Health account-level describe: no resource types",
    "s3:ListAllMyBuckets": "lists the account's buckets: no resource types",
    "sts:GetCallerIdentity": "no resource types",
    "cloudwatch:PutMetricData": "metrics: no resource types (narrow with cloudwatch:namespace)",
    "ecr:GetAuthorizationToken": "registry login: no resource types",
    "states:ListStateMachines": "lists the account's state machines: no resource types",
    "states:SendTaskSuccess": "answers a task token: tokens of service-integration tasks cannot be scoped",
    "states:SendTaskFailure": "answers a task token: tokens of service-integration tasks cannot be scoped",
}

# AWS managed policies that are `*` or a service wildcard under another name.
BROAD_MANAGED = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(.*/)?(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]+FullAccess)$")


@dataclass(frozen=True)
class Statement:
    where: str                 # "policy", "inlinePolicies[0].policy", ...
    kind: str                  # IDENTITY, TRUST, KEY or RESOURCE
    index: int
    body: Mapping[str, Any]

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"

    def listed(self, key: str) -> list[str]:
        value = self.body.get(key)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)

    @property
    def label(self) -> str:
        sid = self.body.get("Sid")
        return f"{self.where} statement {self.index}" + (f" ({sid})" if sid else "")


def parse(document: Any) -> Mapping[str, Any]:
    return json.loads(document) if isinstance(document, str) else dict(document or {})


def documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(where, kind, parsed document) for every IAM document a resource carries."""
    for prop, kind in DOCUMENTS.get(resource_type, []):
        if props.get(prop):
            yield prop, kind, parse(props[prop])
    if resource_type == "aws:iam/role:Role":
        for i, inline in enumerate(props.get("inlinePolicies") or []):
            if inline.get("policy"):
                yield f"inlinePolicies[{i}].policy", IDENTITY, parse(inline["policy"])


def statements(resource_type: str, props: Mapping[str, Any]) -> Iterator[Statement]:
    for where, kind, document in documents(resource_type, props):
        body = document.get("Statement") or []
        for i, statement in enumerate([body] if isinstance(body, Mapping) else body):
            yield Statement(where, kind, i, statement)


def is_service_wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def delegates_key_to_iam(statement: Statement) -> bool:
    """The default KMS key policy statement: the account root gets kms:* on this key, which grants nothing by
    itself but lets IAM policies in the account grant use of the key (without it a key becomes unmanageable)."""
    principal = statement.body.get("Principal")
    principals = principal.get("AWS") if isinstance(principal, Mapping) else None
    principals = [principals] if isinstance(principals, str) else list(principals or [])
    return (statement.kind == KEY and statement.listed("Action") == ["kms:*"] and bool(principals)
            and all(re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:root|\d{12}", p) for p in principals))


def validate_no_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in statements(args.resource_type, args.props):
        if not statement.allows or delegates_key_to_iam(statement):
            continue
        wild = [a for a in statement.listed("Action") if is_service_wildcard(a)]
        if wild:
            report(f"{statement.label} allows {', '.join(wild)}: name the actions it needs")
        if statement.listed("NotAction"):
            report(f"{statement.label} allows NotAction (everything else): name the actions it needs")
    managed = list(args.props.get("managedPolicyArns") or [])
    if args.resource_type in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                              "aws:iam/policyAttachment:PolicyAttachment"):
        managed.append(args.props.get("policyArn") or "")
    for arn in managed:
        if BROAD_MANAGED.match(arn):
            report(f"attaches {arn}, a wildcard grant: write a policy naming the actions it needs")


def star_allowed(action: str) -> bool:
    return action.lower() in {a.lower() for a in STAR_ONLY}


def validate_resource_star(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for statement in statements(args.resource_type, args.props):
        if not statement.allows or statement.kind != IDENTITY:
            continue   # key policies' "*" means the key itself; trust policies have no Resource
        if statement.listed("NotResource"):
            report(f"{statement.label} allows NotResource: name the resources")
        if "*" in statement.listed("Resource"):
            others = [a for a in statement.listed("Action") if not star_allowed(a)]
            if others:
                report(f'{statement.label} grants {", ".join(others)} on Resource "*"; these support '
                       'resource-level permissions: name the exact ARNs')


no_wildcard_actions = ResourceValidationPolicy(
    name="iam-no-wildcard-actions",
    description="No IAM statement allows a `*` action or a service wildcard (`s3:*`), NotAction, or a "
                "*FullAccess/AdministratorAccess managed policy.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=validate_no_wildcard_actions,
)

resource_star_allowlist = ResourceValidationPolicy(
    name="iam-resource-star-allowlist",
    description='`Resource: "*"` only for actions that support nothing else (X-Ray, EC2 Describe*, '
                "CloudTrail LookupEvents, log delivery, ...).",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=validate_resource_star,
)
