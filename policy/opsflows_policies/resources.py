"""Per-resource guardrails: encrypted alerts, observable workflows and functions, bounded logs and Batch."""
from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
                           ResourceValidationPolicy)

# Lambda runtimes AWS still supports for create and update (AWS Lambda "Supported runtimes"; python3.9 is
# deprecated since 2025-12). Overridable with the policy config `runtimes`.
SUPPORTED_RUNTIMES = ["python3.11", "python3.12", "python3.13", "nodejs20.x", "nodejs22.x", "java21",
                      "provided.al2023"]
DEFAULT_MAX_VCPUS = 256          # the genomics default (opsflows:genomics.maxVcpus)


def _get(props: Mapping[str, Any], *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def validate_topic_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:sns/topic:Topic" and not args.props.get("kmsMasterKeyId"):
        report("SNS topic has no kmsMasterKeyId: encrypt it with a KMS key (alerts carry execution details)")


def validate_state_machine_observable(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:sfn/stateMachine:StateMachine":
        return
    level = _get(args.props, "loggingConfiguration", "level") or "OFF"
    if level == "OFF" or not _get(args.props, "loggingConfiguration", "logDestination"):
        report(f"state machine logging is {level}: set loggingConfiguration level (ALL, ERROR or FATAL) "
               "and a logDestination log group")
    if _get(args.props, "tracingConfiguration", "enabled") is not True:
        report("state machine has no X-Ray tracing: set tracingConfiguration.enabled = true")


def validate_lambda(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:lambda/function:Function":
        return
    supported = list(args.get_config().get("runtimes") or SUPPORTED_RUNTIMES)
    runtime = args.props.get("runtime")
    if args.props.get("packageType") != "Image" and runtime not in supported:
        report(f"Lambda runtime {runtime!r} is not supported; use one of {', '.join(supported)}")
    mode = _get(args.props, "tracingConfig", "mode")
    if mode != "Active":
        report(f"Lambda tracing is {mode or 'PassThrough'}: set tracingConfig.mode = Active")


def validate_log_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:cloudwatch/logGroup:LogGroup" and not args.props.get("retentionInDays"):
        report("log group never expires: set retentionInDays")


def validate_event_target_role(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:cloudwatch/eventTarget:EventTarget":
        return
    if ":states:" in str(args.props.get("arn") or "") and not args.props.get("roleArn"):
        report("EventBridge target starts a state machine without a roleArn: give it a role allowed only "
               "states:StartExecution on that machine")


def validate_batch_vcpus(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "aws:batch/computeEnvironment:ComputeEnvironment":
        return
    cap = int(args.get_config().get("maxVcpus", DEFAULT_MAX_VCPUS))
    resources = args.props.get("computeResources")
    if resources is None:
        if args.props.get("type") != "UNMANAGED":
            report(f"managed compute environment has no computeResources: set maxVcpus <= {cap}")
        return
    vcpus = resources.get("maxVcpus")
    if vcpus is None or vcpus > cap:
        shown = "unset" if vcpus is None else f"{vcpus:g}"     # the wire format carries numbers as floats
        report(f"compute environment maxVcpus is {shown}; the cap is {cap} (policy config maxVcpus)")


def _policy(name: str, description: str, validate, config_schema: PolicyConfigSchema | None = None):
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY, config_schema=config_schema)


sns_encrypted = _policy("sns-topic-kms-encrypted", "SNS topics are encrypted with a KMS key.",
                        validate_topic_encrypted)
state_machine_observable = _policy(
    "sfn-logging-and-tracing", "State machines log to CloudWatch Logs and trace with X-Ray.",
    validate_state_machine_observable)
lambda_runtime_tracing = _policy(
    "lambda-supported-runtime-traced", "Lambda functions use a supported runtime and Active X-Ray tracing.",
    validate_lambda, PolicyConfigSchema(properties={"runtimes": {
        "type": "array", "items": {"type": "string"}, "default": SUPPORTED_RUNTIMES}}))
log_retention = _policy("log-group-retention", "Log groups have a retention period.", validate_log_retention)
event_target_role = _policy(
    "eventbridge-sfn-target-role", "EventBridge targets that start state machines carry a role.",
    validate_event_target_role)
batch_vcpus = _policy(
    "batch-max-vcpus", "Batch compute environments are capped at the configured maxVcpus.",
    validate_batch_vcpus, PolicyConfigSchema(properties={"maxVcpus": {
        "type": "integer", "minimum": 0, "default": DEFAULT_MAX_VCPUS}}))
