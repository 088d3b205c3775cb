"""EBS snapshot management: tag each new snapshot, keep the newest N per volume, copy it to the DR region.

Primary: createSnapshot event -> flow: Tag -> Retain -> CopyToDR (queued for one of the DR region's copy slots)
         DR copySnapshot event (forwarded from the DR region) -> copies: Settle (free the slot, start the next
         waiting copy) -> Retain (what it held back) | CopyToDR again (a copy AWS failed)
DR:      copySnapshot event -> flow: Tag -> Retain.

The DR region admits 20 copies in flight (EBS, not adjustable). A snapshot's CopyToDR task waits for its task
token while the snapshot waits in a queue (a DynamoDB ledger); the copies opsflows has pending in the DR region
are the source of truth for the slots taken, and each completed copy starts the next waiting one.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .alerts import AlertTopic
from .asl import NOTIFY_FAILURE, TRANSIENT, definition, failed, invoke, invoke_and_wait
from .function import Function, FunctionArgs
from .iam import allow, assume_role_policy, policy_document
from .settings import Role, SnapshotSettings
from .workflow import Workflow, WorkflowArgs, on_event

EVENTS = {"primary": "createSnapshot", "dr": "copySnapshot"}
# Another execution is reporting the snapshots still waiting at the copy deadline: look again shortly.
REPORT_BUSY = {"ErrorEquals": ["DeadlineReportBusy"], "IntervalSeconds": 5, "BackoffRate": 1.5, "MaxAttempts": 12}
# The DR region refused a copy for its quota while no copy of ours is in flight there (others hold the slots, and
# their completions are forwarded too): a few tries, then the task just waits for its token.
SLOTS_BUSY = {"ErrorEquals": ["CopySlotsBusy"], "IntervalSeconds": 60, "BackoffRate": 2.0, "MaxAttempts": 5,
              "MaxDelaySeconds": 900, "JitterStrategy": "FULL"}


def first(task: dict) -> dict:
    """The first state of a flow receives whatever started the execution, which may not be an object (a list, a
    string): its failure replaces that input instead of being added to it (ResultPath `$`), and its recorder builds
    the failure record afresh, so even such an input ends in one alert naming the problem."""
    return {**task, "Catch": [{**c, "ResultPath": "$"} for c in task["Catch"]]}


def first_failed(state: str) -> dict:
    """`<state> failed` for a `first` state: the record `definition` would add, built from the error alone."""
    return {"Type": "Pass", "Parameters": {"failure.$": "$", "failedState": state}, "Next": NOTIFY_FAILURE}


def snapshot_pattern(event: str, results: tuple[str, ...] = ("succeeded",)) -> dict:
    return {"source": ["aws.ec2"], "detail-type": ["EBS Snapshot Notification"],
            "detail": {"event": [event], "result": list(results)}}


@dataclass(frozen=True)
class SnapshotManagementArgs:
    role: Role                      # "primary" or "dr"
    settings: SnapshotSettings
    region: str                     # the stack's region, where the snapshots are
    dr_region: str | None           # primary only: where copies go
    alerts: AlertTopic
    log_retention_days: int = 30


class SnapshotManagement(pulumi.ComponentResource):
    """EBS snapshots: tag each new one, keep the newest N per volume, copy to the DR region (primary)."""

    def __init__(self, name: str, args: SnapshotManagementArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:snapshots:SnapshotManagement", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        primary = args.role == "primary"
        here = f"arn:aws:ec2:{args.region}::snapshot/*"
        common = dict(log_retention_days=args.log_retention_days)
        tag_keys = ["opsflows:managed", "opsflows:volume", *(["opsflows:dr"] if primary else [])]

        tag = Function(f"{name}-tag", FunctionArgs(
            package="snapshots", handler="tag.handler", environment={"SNAPSHOT_EVENT": EVENTS[args.role]},
            description="Tag a new EBS snapshot as managed by opsflows", statements=[
                allow("ec2:DescribeSnapshots", "*", sid="DescribeOnlySupportsStar"),
                allow("ec2:CreateTags", here, sid="TagManagedOnly",
                      condition={"ForAllValues:StringEquals": {"aws:TagKeys": tag_keys}}),
            ], **common), inside)
        ledger = self._ledger(name, inside) if primary else None
        retain = Function(f"{name}-retain", FunctionArgs(
            package="snapshots", handler="retain.handler", timeout=300,
            description="Keep the newest N managed snapshots of a volume",
            environment={"RETAIN": str(args.settings.retain),
                         "MAX_AGE_DAYS": str(args.settings.max_age_days or ""),
                         "DRY_RUN": str(args.settings.dry_run).lower(),
                         **({"LEDGER_TABLE": ledger.name, "DR_REGION": args.dr_region} if ledger else {})},
            statements=[
                allow("ec2:DescribeSnapshots", "*", sid="DescribeOnlySupportsStar"),
                # IAM itself refuses to delete a snapshot opsflows does not manage.
                allow("ec2:DeleteSnapshot", here, sid="DeleteManagedOnly",
                      condition={"StringEquals": {"aws:ResourceTag/opsflows:managed": "true"}}),
                # A snapshot held for its DR copy: mark its ledger entry to run retention again (that mark only).
                *([allow("dynamodb:UpdateItem", ledger.arn, sid="MarkHeldForDR", condition={
                    "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "retainAfterCopy"]}})]
                  if ledger else []),
            ], **common), inside)

        states = {
            "Tag": first(invoke("Tag", tag.arn, next="Managed?", result_path="$.tagged")),
            failed("Tag"): first_failed("Tag"),
            "Managed?": {"Type": "Choice", "Default": "Ignored",
                         "Choices": [{"Variable": "$.tagged.managed", "BooleanEquals": True, "Next": "Retain"}]},
            "Ignored": {"Type": "Succeed", "Comment": "not ours to manage (another manager's, or not an opsflows copy)"},
            "Retain": invoke("Retain", retain.arn, next="CopyToDR" if primary else "Done", result_path="$.retention",
                             parameters={"snapshot.$": "$.tagged.snapshot", "volumeId.$": "$.tagged.volumeId"}
                             if primary else {"region.$": "$.tagged.snapshot.region",
                                              "volumeId.$": "$.tagged.volumeId"}),
            "Done": {"Type": "Succeed"},
        }
        workflow = f"snapshots-{args.role}"
        if not primary:
            flow = self._flow(f"{name}-flow", args, workflow, "Tag a DR copy of an EBS snapshot, keep the newest N of "
                              "its volume.", states, [tag, retain], inside)
        else:
            queue = self._copy_queue(name, args, ledger, inside, common)
            states.update(queue.copy_states(args, workflow))
            flow = self._flow(f"{name}-flow", args, workflow, "Tag a new EBS snapshot, keep the newest N of its volume, "
                              "queue its copy to the DR region (20 copies in flight there at most) and wait until it "
                              "starts.", states, [tag, retain, queue.copy, queue.expire], inside)
            copies = self._flow(f"{name}-copies", args, workflow, "A copy into the DR region completed (its copySnapshot "
                                "event, forwarded): settle it, start the next waiting copy, apply the retention it held "
                                "back; a copy AWS failed is queued again, first in line.", {
                                    **queue.settle_states(retain), **queue.copy_states(args, workflow),
                                    "Done": {"Type": "Succeed"}},
                                [retain, queue.copy, queue.settle, queue.expire], inside, start_at="Settle")
            self._forward_dr_copies(name, args, copies, inside)
            # CopyToDR takes the place in the queue of an execution that no longer runs (failed, timed out): it
            # asks Step Functions about the executions of these two flows only (a policy of its own: they name it).
            account = aws.get_caller_identity_output().account_id
            executions = [pulumi.Output.concat("arn:aws:states:", args.region, ":", account, ":execution:", f.name, ":*")
                          for f in (flow, copies)]
            aws.iam.RolePolicy(f"{name}-copy-owners-policy", role=queue.copy.role.id, opts=inside, policy=policy_document(
                [allow("states:DescribeExecution", executions, sid="OwnFlowsExecutions")]))
        on_event(f"{name}-on-{EVENTS[args.role]}", pattern=snapshot_pattern(EVENTS[args.role]), target=flow,
                 description=f"EBS {EVENTS[args.role]} succeeded -> opsflows {workflow}", opts=inside)

        self.state_machine_arn = flow.arn
        self.register_outputs({"stateMachineArn": flow.arn})

    @staticmethod
    def _flow(name: str, args: SnapshotManagementArgs, workflow: str, comment: str, states: dict,
              functions: list[Function], inside: pulumi.ResourceOptions, start_at: str = "Tag") -> Workflow:
        return Workflow(name, WorkflowArgs(
            definition=pulumi.Output.json_dumps(definition(comment=comment, start_at=start_at, states=states,
                                                           workflow=workflow, alerts_topic_arn=args.alerts.arn)),
            alerts=args.alerts, invokes=functions, log_retention_days=args.log_retention_days), inside)

    @staticmethod
    def _ledger(name: str, inside: pulumi.ResourceOptions) -> aws.dynamodb.Table:
        """The DR copy ledger: an entry per source snapshot, the queue of those waiting for a copy slot."""
        return aws.dynamodb.Table(
            f"{name}-copies", billing_mode="PAY_PER_REQUEST", hash_key="pk", range_key="sk",
            attributes=[aws.dynamodb.TableAttributeArgs(name="pk", type="S"),
                        aws.dynamodb.TableAttributeArgs(name="sk", type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expiresAt", enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True), opts=inside)

    def _copy_queue(self, name: str, args: SnapshotManagementArgs, ledger: aws.dynamodb.Table,
                    inside: pulumi.ResourceOptions, common: dict) -> "CopyQueue":
        """The DR copy queue's CopyToDR / Settle / Expire functions."""
        s = args.settings
        here, dr = f"arn:aws:ec2:{args.region}::snapshot/*", f"arn:aws:ec2:{args.dr_region}::snapshot/*"
        environment = {"TABLE_NAME": ledger.name, "DR_REGION": args.dr_region, "KMS_KEY_ID": s.kms_key_id or "",
                       "MAX_COPIES": str(s.max_concurrent_copies), "COPY_ATTEMPTS": str(s.copy_attempts),
                       "COPY_DEADLINE_HOURS": f"{s.copy_deadline_hours:g}"}
        ledger_access = allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                               "dynamodb:Query", "dynamodb:ConditionCheckItem"], ledger.arn, sid="CopyLedger")
        # Task tokens of service-integration tasks cannot be scoped by IAM: SendTask* supports only "*".
        answer = allow(["states:SendTaskSuccess", "states:SendTaskFailure"], "*", sid="AnswerTaskTokensOnlyStar")
        start_copies = [
            allow("ec2:DescribeSnapshots", "*", sid="DescribeOnlySupportsStar"),
            allow("ec2:CopySnapshot", [here, dr], sid="CopyToDR"),
            allow("ec2:CreateTags", dr, sid="TagCopies", condition={"StringEquals": {"ec2:CreateAction": "CopySnapshot"}}),
            *([allow(["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                      "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"], s.kms_key_id,
                     sid="EncryptCopies", condition={"StringLike": {"kms:ViaService": "ec2.*.amazonaws.com"}})]
              if s.kms_key_id else []),
            ledger_access, answer,
        ]
        copy = Function(f"{name}-copy", FunctionArgs(
            package="snapshots", handler="copy.handler", timeout=120, environment=environment,
            description="Queue a managed snapshot for its DR copy; start the copies the DR region has slots for",
            statements=start_copies, **common), inside)
        settle = Function(f"{name}-settle", FunctionArgs(
            package="snapshots", handler="settle.handler", timeout=120, environment=environment,
            description="Settle a completed DR copy: record it, free its slot, retry a copy AWS failed",
            statements=[
                *start_copies,
                allow("ec2:CreateTags", here, sid="MarkCopied", condition={
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["opsflows:dr"]},
                    "StringEquals": {"aws:ResourceTag/opsflows:managed": "true"}}),
                # Only a copy opsflows made and the DR workflow has not adopted (a failed one has no data).
                allow("ec2:DeleteSnapshot", dr, sid="RemoveFailedCopies",
                      condition={"StringEquals": {"aws:ResourceTag/opsflows:managed": "pending"}}),
            ], **common), inside)
        expire = Function(f"{name}-expire", FunctionArgs(
            package="snapshots", handler="expire.handler", timeout=900, environment=environment,
            description="Copy deadline reached: report every snapshot still waiting for a DR copy slot, once",
            statements=[ledger_access, answer], **common), inside)
        return CopyQueue(copy, settle, expire)

    def _forward_dr_copies(self, name: str, args: SnapshotManagementArgs, target: Workflow,
                           inside: pulumi.ResourceOptions) -> None:
        """Every copySnapshot event of the DR region (completed or failed, opsflows' copies and others', which
        hold slots too) reaches the primary region's default bus, where a rule starts `target` with it."""
        account = aws.get_caller_identity_output().account_id
        bus = pulumi.Output.concat("arn:aws:events:", args.region, ":", account, ":event-bus/default")
        every_copy = snapshot_pattern("copySnapshot", ("succeeded", "failed"))
        rule = aws.cloudwatch.EventRule(f"{name}-dr-copies-rule", region=args.dr_region,
                                        description=f"EBS copySnapshot in {args.dr_region} -> {args.region} default bus",
                                        event_pattern=pulumi.Output.json_dumps(every_copy), opts=inside)
        role = aws.iam.Role(f"{name}-dr-copies-role", assume_role_policy=assume_role_policy("events.amazonaws.com"),
                            description=f"EventBridge forwards {args.dr_region} copySnapshot events", opts=inside)
        policy = aws.iam.RolePolicy(f"{name}-dr-copies-policy", role=role.id, opts=inside,
                                    policy=policy_document([allow("events:PutEvents", bus, sid="ToPrimaryBus")]))
        aws.cloudwatch.EventTarget(f"{name}-dr-copies-target", rule=rule.name, arn=bus, role_arn=role.arn,
                                   region=args.dr_region, opts=pulumi.ResourceOptions.merge(
                                       inside, pulumi.ResourceOptions(depends_on=[policy])))
        on_event(f"{name}-on-dr-copy", pattern={**every_copy, "region": [args.dr_region]}, target=target,
                 description=f"EBS copySnapshot in {args.dr_region} (forwarded) -> opsflows snapshots copies",
                 opts=inside)


@dataclass(frozen=True)
class CopyQueue:
    """The queue's functions and the states that use them (in both primary flows: the first copy of a snapshot,
    and a copy AWS failed, queued again)."""
    copy: Function
    settle: Function
    expire: Function

    def copy_states(self, args: SnapshotManagementArgs, workflow: str) -> dict:
        """CopyToDR waits for its token (the copy started) at most copyDeadlineHours; then one alert names every
        snapshot still waiting (NotifyDeadline), and their executions end FAILED, named in it."""
        deadline = max(1, round(args.settings.copy_deadline_hours * 3600))
        return {
            "CopyToDR": invoke_and_wait(
                "CopyToDR", self.copy.arn, payload={"source.$": "$.tagged"}, timeout_seconds=deadline,
                result_path="$.copy", next="Done", retry=[SLOTS_BUSY], catch=[
                    {"ErrorEquals": ["CopyDeadlineReached"], "ResultPath": "$.failure", "Next": "Reported with others"},
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "Expire"}]),
            "Expire": invoke("Expire", self.expire.arn, next="Deadline?", result_path="$.failure", retry=[REPORT_BUSY],
                             parameters={"snapshot.$": "$.tagged.snapshot", "execution.$": "$$.Execution.Id"}),
            "Deadline?": {"Type": "Choice", "Default": "Done", "Choices": [
                {"Variable": "$.failure.outcome", "StringEquals": "reported", "Next": "NotifyDeadline"},
                {"Variable": "$.failure.outcome", "StringEquals": "elsewhere", "Next": "Reported with others"},
                {"Variable": "$.failure.outcome", "StringEquals": "failed", "Next": "CopyToDR failed"}]},
            "NotifyDeadline": {
                "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Comment": "one alert for every snapshot "
                "still waiting when the first reaches the copy deadline", "Parameters": {
                    "TopicArn": args.alerts.arn, "Subject": f"opsflows {workflow}: DR copy deadline reached",
                    "Message.$": "$.failure.message", "MessageAttributes": {
                        "workflow": {"DataType": "String", "StringValue": workflow},
                        "state": {"DataType": "String", "StringValue": "CopyToDR"},
                        "error": {"DataType": "String", "StringValue": "CopyDeadlineReached"}}},
                "Retry": [TRANSIENT], "ResultPath": None, "Next": "Deadline reached"},
            "Deadline reached": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"},
            "Reported with others": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause",
                                     "Comment": "named in the deadline alert another execution published"},
        }

    def settle_states(self, retain: Function) -> dict:
        return {
            "Settle": first(invoke("Settle", self.settle.arn, next="Settled?", result_path="$.settled",
                                   parameters={"event.$": "$", "execution.$": "$$.Execution.Id"})),
            failed("Settle"): first_failed("Settle"),
            "Settled?": {"Type": "Choice", "Default": "Done", "Choices": [
                {"And": [{"Variable": "$.settled.outcome", "StringEquals": "copied"},
                         {"Variable": "$.settled.retain", "BooleanEquals": True}], "Next": "Retain copied"},
                {"Variable": "$.settled.outcome", "StringEquals": "retry", "Next": "Copy again"}]},
            "Retain copied": invoke("Retain copied", retain.arn, next="Done", result_path="$.retention",
                                    parameters={"region.$": "$.settled.source.snapshot.region",
                                                "volumeId.$": "$.settled.source.volumeId"},
                                    comment="the snapshots retention held for their DR copy may go now"),
            "Copy again": {"Type": "Pass", "InputPath": "$.settled.source", "ResultPath": "$.tagged",
                           "Next": "CopyToDR", "Comment": "AWS failed the copy: queue it again, first in line"},
        }
