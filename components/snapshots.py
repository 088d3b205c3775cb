"""EBS snapshot management: tag each new snapshot, keep the newest N per volume, copy it to the DR region.

Primary: createSnapshot event -> Tag -> Retain -> CopyToDR.   DR: copySnapshot event -> Tag -> Retain.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .alerts import AlertTopic
from .asl import definition, invoke
from .function import Function, FunctionArgs
from .iam import allow
from .settings import Role, SnapshotSettings
from .workflow import Workflow, WorkflowArgs, on_event

EVENTS = {"primary": "createSnapshot", "dr": "copySnapshot"}
# The DR copy limit (concurrent copies per region) clears as copies finish: wait longer than for throttling.
COPY_LIMIT = {"ErrorEquals": ["ResourceLimitExceeded", "SnapshotCopyLimitExceeded"], "IntervalSeconds": 60,
              "BackoffRate": 2.0, "MaxAttempts": 8, "MaxDelaySeconds": 900, "JitterStrategy": "FULL"}


def snapshot_pattern(event: str) -> dict:
    return {"source": ["aws.ec2"], "detail-type": ["EBS Snapshot Notification"],
            "detail": {"event": [event], "result": ["succeeded"]}}


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

        tag = Function(f"{name}-tag", FunctionArgs(
            package="snapshots", handler="tag.handler", environment={"SNAPSHOT_EVENT": EVENTS[args.role]},
            description="Tag a new EBS snapshot as managed by opsflows", statements=[
                allow("ec2:DescribeSnapshots", "*", sid="DescribeOnlySupportsStar"),
                allow("ec2:CreateTags", here, sid="TagManagedOnly", condition={
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["opsflows:managed", "opsflows:volume"]}}),
            ], **common), inside)
        retain = Function(f"{name}-retain", FunctionArgs(
            package="snapshots", handler="retain.handler", timeout=300,
            description="Keep the newest N managed snapshots of a volume",
            environment={"RETAIN": str(args.settings.retain),
                         "MAX_AGE_DAYS": str(args.settings.max_age_days or ""),
                         "DRY_RUN": str(args.settings.dry_run).lower()},
            statements=[
                allow("ec2:DescribeSnapshots", "*", sid="DescribeOnlySupportsStar"),
                # IAM itself refuses to delete a snapshot opsflows does not manage.
                allow("ec2:DeleteSnapshot", here, sid="DeleteManagedOnly",
                      condition={"StringEquals": {"aws:ResourceTag/opsflows:managed": "true"}}),
            ], **common), inside)

        states = {
            "Tag": invoke("Tag", tag.arn, next="Managed?", result_path="$.tagged"),
            "Managed?": {"Type": "Choice", "Default": "Ignored",
                         "Choices": [{"Variable": "$.tagged.managed", "BooleanEquals": True, "Next": "Retain"}]},
            "Ignored": {"Type": "Succeed", "Comment": "not ours to manage (another manager's, or not an opsflows copy)"},
            "Retain": invoke("Retain", retain.arn, next="CopyToDR" if primary else "Done", result_path="$.retention",
                             parameters={"snapshot.$": "$.tagged.snapshot", "volumeId.$": "$.tagged.volumeId"}),
            "Done": {"Type": "Succeed"},
        }
        functions = [tag, retain]
        if primary:
            dr = f"arn:aws:ec2:{args.dr_region}::snapshot/*"
            kms = args.settings.kms_key_id
            copy = Function(f"{name}-copy", FunctionArgs(
                package="snapshots", handler="copy.handler", timeout=120,
                description="Copy a managed snapshot to the DR region, once",
                environment={"DR_REGION": args.dr_region, "KMS_KEY_ID": kms or ""},
                statements=[
                    allow("ec2:DescribeSnapshots", "*", sid="DescribeOnlySupportsStar"),
                    allow("ec2:CopySnapshot", [here, dr], sid="CopyToDR"),
                    allow("ec2:CreateTags", dr, sid="TagCopies",
                          condition={"StringEquals": {"ec2:CreateAction": "CopySnapshot"}}),
                    *([allow(["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                              "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"], kms,
                             sid="EncryptCopies", condition={"StringLike": {"kms:ViaService": "ec2.*.amazonaws.com"}})]
                      if kms else []),
                ], **common), inside)
            functions.append(copy)
            states["CopyToDR"] = invoke("CopyToDR", copy.arn, next="Done", result_path="$.copy", retry=[COPY_LIMIT],
                                        parameters={"snapshot.$": "$.tagged.snapshot", "tags.$": "$.tagged.tags",
                                                    "volumeId.$": "$.tagged.volumeId"})

        workflow = f"snapshots-{args.role}"
        flow = Workflow(f"{name}-flow", WorkflowArgs(
            definition=pulumi.Output.json_dumps(definition(
                comment=("Tag a new EBS snapshot, keep the newest N of its volume, copy it to the DR region."
                         if primary else "Tag a DR copy of an EBS snapshot, keep the newest N of its volume."),
                start_at="Tag", states=states, workflow=workflow, alerts_topic_arn=args.alerts.arn)),
            alerts=args.alerts, invokes=functions, log_retention_days=args.log_retention_days), inside)
        on_event(f"{name}-on-{EVENTS[args.role]}", pattern=snapshot_pattern(EVENTS[args.role]), target=flow,
                 description=f"EBS {EVENTS[args.role]} succeeded -> opsflows {workflow}", opts=inside)

        self.state_machine_arn = flow.arn
        self.register_outputs({"stateMachineArn": flow.arn})
