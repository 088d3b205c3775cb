"""Advisory: taggable resources carry the stack's required tags (keys of stack config `opsflows:tags`)."""
from __future__ import annotations

import json
from typing import Any, Mapping

import pulumi
from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
                           ResourceValidationPolicy)

# Resource types that take `tags` (pulumi-aws v7). tests/policy checks that every type the program registers
# whose pulumi-aws class has a `tags` property is listed here.
TAGGABLE = {
    "aws:batch/computeEnvironment:ComputeEnvironment", "aws:batch/jobDefinition:JobDefinition",
    "aws:batch/jobQueue:JobQueue", "aws:batch/schedulingPolicy:SchedulingPolicy",
    "aws:cloudwatch/eventBus:EventBus", "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:dynamodb/table:Table", "aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/securityGroup:SecurityGroup",
    "aws:iam/instanceProfile:InstanceProfile", "aws:iam/policy:Policy", "aws:iam/role:Role",
    "aws:kms/key:Key", "aws:lambda/function:Function",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:sfn/activity:Activity", "aws:sfn/stateMachine:StateMachine",
    "aws:sns/topic:Topic", "aws:sqs/queue:Queue", "aws:scheduler/scheduleGroup:ScheduleGroup",
}


def required_tags(config: Mapping[str, Any]) -> list[str]:
    """The policy config `requiredTags`, else the keys of the stack's `opsflows:tags` (the CLI hands the stack
    config to the pack's process)."""
    if config.get("requiredTags") is not None:
        return list(config["requiredTags"])
    raw = pulumi.runtime.get_config("opsflows:tags")
    return sorted(json.loads(raw)) if raw else []


def present_tags(props: Mapping[str, Any], provider_props: Mapping[str, Any] | None) -> set[str]:
    keys = set(props.get("tags") or {}) | set(props.get("tagsAll") or {})
    default_tags = (provider_props or {}).get("defaultTags") or {}
    if isinstance(default_tags, str):
        default_tags = json.loads(default_tags)
    return keys | set(default_tags.get("tags") or {})


def validate_required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE:
        return
    missing = [k for k in required_tags(args.get_config())
               if k not in present_tags(args.props, args.provider.props if args.provider else None)]
    if missing:
        report(f"missing required tags: {', '.join(missing)} (set them in opsflows:tags or the provider's "
               "defaultTags)")


required = ResourceValidationPolicy(
    name="required-tags",
    description="Taggable resources carry the tags listed in the stack config opsflows:tags.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=validate_required_tags,
    config_schema=PolicyConfigSchema(properties={"requiredTags": {"type": "array", "items": {"type": "string"}}}),
)
