"""A Step Functions state machine: a role allowed exactly what its states call, logs, tracing, a failure alarm."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws

from .alerts import AlertTopic
from .function import Function
from .iam import XRAY_WRITE, allow, assume_role_policy, policy_document


@dataclass(frozen=True)
class WorkflowArgs:
    definition: pulumi.Input[str]                  # ASL JSON (pulumi.Output.json_dumps of a dict)
    alerts: AlertTopic                             # failures publish here; the ExecutionsFailed alarm too
    invokes: Sequence[Function] = ()               # Lambda functions its Task states call
    statements: Sequence[dict] = ()                # service integrations (aws-sdk, batch, ...), exact ARNs
    region: str | None = None
    log_retention_days: int = 30
    description: str = ""
    # False when no state publishes to `alerts` itself (a function publishes for them, e.g. to another region's
    # topic): the role then gets no sns:Publish; `alerts` is still where the ExecutionsFailed alarm notifies.
    states_publish_alerts: bool = True


class Workflow(pulumi.ComponentResource):
    """A STANDARD state machine with CloudWatch logging (ALL), X-Ray tracing and an ExecutionsFailed alarm."""

    def __init__(self, name: str, args: WorkflowArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:workflow:Workflow", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)

        logs = aws.cloudwatch.LogGroup(f"{name}-logs", name_prefix="/aws/vendedlogs/states/opsflows-",
                                       retention_in_days=args.log_retention_days, region=args.region, opts=inside)
        statements: list[dict] = [
            # CloudWatch Logs delivery for Step Functions supports only Resource "*".
            allow(["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                   "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                   "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"], "*", sid="LogDeliveryOnlySupportsStar"),
            XRAY_WRITE,
            *(args.alerts.publish_statements() if args.states_publish_alerts else []),
        ]
        if args.invokes:
            arns = [f.arn for f in args.invokes]
            statements.append(allow("lambda:InvokeFunction", [*arns, *[pulumi.Output.concat(a, ":*") for a in arns]],
                                    sid="InvokeOwnFunctions"))
        statements.extend(args.statements)

        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("states.amazonaws.com"),
                                 description=f"opsflows workflow {name}", opts=inside)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=policy_document(statements),
                                    opts=inside)
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-sm", type="STANDARD", role_arn=self.role.arn, definition=args.definition,
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level="ALL", include_execution_data=True, log_destination=logs.arn.apply(lambda a: f"{a}:*")),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            region=args.region, opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-failed", alarm_description=f"opsflows {name}: an execution failed",
            namespace="AWS/States", metric_name="ExecutionsFailed", statistic="Sum", period=300,
            evaluation_periods=1, threshold=1, comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching", dimensions={"StateMachineArn": self.state_machine.arn},
            alarm_actions=[args.alerts.arn], region=args.region, opts=inside)

        self.arn = self.state_machine.arn
        self.name = self.state_machine.name
        self.register_outputs({"arn": self.arn})


def on_event(name: str, *, pattern: dict, target: Workflow, region: str | None = None,
             description: str = "", opts: pulumi.ResourceOptions | None = None) -> aws.cloudwatch.EventRule:
    """An EventBridge rule that starts `target` with the matching event, through a role allowed only that."""
    rule = aws.cloudwatch.EventRule(f"{name}-rule", description=description, event_pattern=pulumi.Output.json_dumps(pattern),
                                    region=region, opts=opts)
    role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("events.amazonaws.com"),
                        description=f"EventBridge starts {name}", opts=opts)
    policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id,
                                policy=policy_document([allow("states:StartExecution", target.arn)]), opts=opts)
    aws.cloudwatch.EventTarget(f"{name}-target", rule=rule.name, arn=target.arn, role_arn=role.arn,
                               retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                                   maximum_event_age_in_seconds=24 * 3600, maximum_retry_attempts=185),
                               region=region, opts=pulumi.ResourceOptions.merge(
                                   opts, pulumi.ResourceOptions(depends_on=[policy])))
    return rule


def child_execution_statements(flow: Workflow, *, region: pulumi.Input[str],
                               account: pulumi.Input[str]) -> list[dict]:
    """What a Distributed Map needs to run its child executions: start executions of its own state machine, follow
    and stop them. They name the state machine, so they go in a policy added once it exists (a second RolePolicy
    on `flow.role`)."""
    arn_prefix = pulumi.Output.concat("arn:aws:states:", region, ":", account)
    executions = pulumi.Output.concat(arn_prefix, ":execution:", flow.name)
    return [
        allow("states:StartExecution", flow.arn, sid="StartChildExecutions"),
        allow(["states:DescribeExecution", "states:StopExecution"], [
            # Distributed Map children: <machine>/<map run>:<child>.
            pulumi.Output.concat(executions, "/*:*"), pulumi.Output.concat(executions, ":*"),
            # The machine is STANDARD and has no express executions; IAM's DescribeExecution also covers the
            # express form, which linters (parliament) expect named: this machine's only.
            pulumi.Output.concat(arn_prefix, ":express:", flow.name, ":*:*")], sid="FollowChildExecutions"),
    ]
