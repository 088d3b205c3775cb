"""EBS snapshot management under faults: a volume at its retention limit gets one more snapshot; the primary
keeps its newest N, the copy reaches the DR region once (queued for one of its 20 copy slots), where the DR
workflow keeps its own newest N. Snapshots another manager owns, or that carry the volume's tag without being
managed, are never touched; a snapshot whose DR copy is not made yet is never deleted."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import FAILED, SUCCEEDED, BadInput, Exercise, FaultCase

HOME, DR = "us-west-2", "us-east-2"
RETAIN, DR_RETAIN = 1, 1
SOURCE = "opsflows:source-snapshot"


def _event(**detail: Any) -> dict:
    return {"source": "aws.ec2", "detail-type": "EBS Snapshot Notification", "region": HOME,
            "detail": {"event": "createSnapshot", "result": "succeeded",
                       "snapshot_id": f"arn:aws:ec2::{HOME}:snapshot/snap-0123456789abcdef0",
                       "source": f"arn:aws:ec2::{HOME}:volume/vol-0123456789abcdef0", **detail}}


def _copied(**detail: Any) -> dict:
    return _event(**{"event": "copySnapshot", "snapshot_id": f"arn:aws:ec2::{DR}:snapshot/snap-0123456789abcdef0",
                     "source": f"arn:aws:ec2::{HOME}:snapshot/snap-0fedcba9876543210", **detail})


@dataclass
class Run:
    volume: str
    made: list[str] = field(default_factory=list)          # the volume's snapshots, oldest first
    foreign: list[str] = field(default_factory=list)       # AWS Backup's, and tagged for the volume but not managed


class Snapshots(Exercise):
    workflow = "snapshots"
    stacks = {"primary": {"opsflows:snapshots": {"retain": RETAIN}}, "dr": {"opsflows:snapshots": {"retain": DR_RETAIN}}}
    output = "snapshotStateMachineArn"
    faults = (
        FaultCase(("ec2.DescribeSnapshots=RequestLimitExceeded:4",), SUCCEEDED, "EC2 throttling beyond the SDK's retries"),
        FaultCase(("ec2.CopySnapshot=ResourceLimitExceeded:2",), SUCCEEDED,
                  "the DR region's 20 copy slots held by others: the snapshot stays queued"),
        FaultCase(("ec2.CopySnapshot=InternalError:3",), SUCCEEDED, "EC2 5xx starting the copy"),
        FaultCase(("ec2.CopySnapshot=InvalidSnapshot.NotFound:1",), SUCCEEDED,
                  "a fresh snapshot not yet visible to CopySnapshot: not taken for gone"),
        FaultCase(("ec2.SnapshotCopy=InternalError:1",), SUCCEEDED, "AWS fails the copy once: it is made again"),
        FaultCase(("ec2.DeleteSnapshot=InternalError:3",), SUCCEEDED, "EC2 5xx during retention"),
        FaultCase(("lambda.Invoke=TooManyRequestsException:2",), SUCCEEDED, "Lambda throttles Step Functions"),
        FaultCase(("dynamodb.TransactWriteItems=ThrottlingException:3",), SUCCEEDED, "the copy ledger throttled"),
        FaultCase(("stepfunctions.SendTaskSuccess=ThrottlingException:3",), SUCCEEDED,
                  "the answer to the waiting task throttled: the copy is not made twice"),
        FaultCase(("ec2.CopySnapshot=UnauthorizedOperation:1",), FAILED, "the copy is denied once"),
        FaultCase(("ec2.DeleteSnapshot=UnauthorizedOperation:1",), FAILED, "retention denied: no copy made either"),
        FaultCase(("ec2.DeleteSnapshot=UnauthorizedOperation:1", "sns.Publish=Throttled:2"), FAILED,
                  "the failure alert itself is throttled: retried, still exactly one"),
        FaultCase(("ec2.SnapshotCopy=InternalError:3",), FAILED, "AWS fails every copy: alerted, the snapshot kept"),
        FaultCase(("lambda.Invoke@snapshots-copy=Sandbox.Timedout:1",), FAILED,
                  "CopyToDR times out after starting the copy: the rerun makes no second one"),
        FaultCase(("dynamodb.Query=AccessDeniedException:1",), FAILED, "the ledger denied after queueing"),
    )
    bad_inputs = (
        BadInput("an event without detail", {"source": "aws.ec2", "detail-type": "EBS Snapshot Notification"},
                 "detail"),
        BadInput("not an EBS notification", {**_event(), "detail-type": "AWS API Call via CloudTrail"},
                 "expected an EBS Snapshot Notification"),
        BadInput("an unknown event code", _event(event="deleteSnapshot"), "expected detail.event 'createSnapshot'"),
        BadInput("a snapshot id that is not an ARN", _event(snapshot_id="snap-0123456789abcdef0"),
                 "detail.snapshot_id must be an EC2 snapshot ARN"),
        BadInput("a volume ARN for the snapshot", _event(snapshot_id=f"arn:aws:ec2::{HOME}:volume/vol-0123456789abcdef0"),
                 "detail.snapshot_id must be an EC2 snapshot ARN"),
        BadInput("an empty snapshot id", _event(snapshot_id=""), "detail.snapshot_id must be an EC2 snapshot ARN"),
        BadInput("a hostile path in the ARN", _event(snapshot_id=f"arn:aws:ec2::{HOME}:snapshot/../../etc/passwd"),
                 "detail.snapshot_id must be an EC2 snapshot ARN"),
        BadInput("unicode in the snapshot id", _event(snapshot_id=f"arn:aws:ec2::{HOME}:snapshot/snap-ünïcødé"),
                 "detail.snapshot_id must be an EC2 snapshot ARN"),
        BadInput("a 1,024-byte snapshot id", _event(snapshot_id=f"arn:aws:ec2::{HOME}:snapshot/snap-" + "a" * 1000),
                 "detail.snapshot_id must be an EC2 snapshot ARN"),
        BadInput("a number for the source", _event(source=12345), "detail.source must be an EC2 volume ARN"),
        BadInput("a createSnapshot that failed", _event(result="failed", cause="Snapshot quota exceeded"),
                 "did not succeed"),
        BadInput("a list instead of an event", [_event()], "expected an EBS Snapshot Notification"),
        BadInput("an oversized event", _event(padding="x" * 200_000), "bytes"),
        BadInput("a copy event of unknown result", _copied(result="exploded"), "detail.result must be one of"),
        BadInput("a copy event whose copy is a volume", _copied(snapshot_id=f"arn:aws:ec2::{DR}:volume/vol-0123456789abcdef0"),
                 "detail.snapshot_id must be an EC2 snapshot ARN"),
    )

    def start_with(self, cloud: Any, run: Run, value: Any) -> None:
        """As EventBridge would: copySnapshot events start the copies flow (forwarded from the DR region)."""
        copied = isinstance(value, dict) and isinstance(value.get("detail"), dict) \
            and value["detail"].get("event") == "copySnapshot"
        cloud.start(self._machine(cloud, "snapshots-copies") if copied else self.state_machine(cloud), value)

    def _machine(self, cloud: Any, prefix: str) -> str:
        (machine,) = [m.outputs["arn"] for m in cloud.deployments["primary"].of_type("aws:sfn/stateMachine:StateMachine")
                      if m.name.startswith(prefix)]
        return machine

    def prepare(self, cloud: Any) -> Run:
        ec2 = cloud.client("ec2", HOME)
        run = Run(ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"])
        for _ in range(RETAIN):
            run.made.append(ec2.create_snapshot(VolumeId=run.volume)["SnapshotId"])
            cloud.run_until_idle()
        run.foreign.append(ec2.create_snapshot(VolumeId=run.volume, TagSpecifications=[{
            "ResourceType": "snapshot", "Tags": [{"Key": "aws:backup:source-resource", "Value": run.volume}]}])["SnapshotId"])
        run.foreign.append(ec2.create_snapshot(VolumeId=run.volume, TagSpecifications=[{
            "ResourceType": "snapshot", "Tags": [{"Key": "opsflows:volume", "Value": run.volume},
                                                 {"Key": "opsflows:managed", "Value": "false"},
                                                 {"Key": "aws:dlm:lifecycle-policy-id", "Value": "policy-1"}]}])["SnapshotId"])
        return run

    def start(self, cloud: Any, run: Run) -> None:
        run.made.append(cloud.client("ec2", HOME).create_snapshot(VolumeId=run.volume)["SnapshotId"])

    def expected(self, cloud: Any, run: Run) -> dict:
        return {"primary": sorted([*run.made[-RETAIN:], *run.foreign]), "dr": sorted(run.made[-DR_RETAIN:])}

    def observe(self, cloud: Any, run: Run) -> dict:
        return {"primary": sorted(s["SnapshotId"] for s in self._snapshots(cloud, HOME, "volume-id", run.volume)),
                "dr": sorted(self._copies(cloud, run))}

    def violations(self, cloud: Any, run: Run) -> list[str]:
        found = []
        primary = {s["SnapshotId"]: s for s in self._snapshots(cloud, HOME, "volume-id", run.volume)}
        found += [f"{f}, a snapshot opsflows does not manage, was deleted" for f in run.foreign if f not in primary]
        copies = self._copies(cloud, run)
        found += [f"{n} DR copies of {source}" for source, n in _counts(copies).items() if n > 1]
        # Nothing lost: a snapshot is deleted only once its DR copy was made.
        found += [f"{m} was deleted before its DR copy was made" for m in run.made
                  if m not in primary and m not in copies and not self._was_copied(cloud, m)]
        return found

    def _was_copied(self, cloud: Any, snapshot_id: str) -> bool:
        """A copy completed (DR retention may have deleted it since): the queue's ledger says so."""
        (table,) = cloud.deployments["primary"].of_type("aws:dynamodb/table:Table")
        item = cloud.client("dynamodb", HOME).get_item(TableName=table.outputs["name"], ConsistentRead=True, Key={
            "pk": {"S": f"snapshot#{snapshot_id}"}, "sk": {"S": "copy"}}).get("Item") or {}
        return item.get("state", {}).get("S") == "copied"

    def _snapshots(self, cloud: Any, region: str, name: str, value: str) -> list[dict]:
        return cloud.client("ec2", region).describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": name, "Values": [value]}])["Snapshots"]

    def _copies(self, cloud: Any, run: Run) -> list[str]:
        """The primary snapshot each DR copy of the volume was made from (one entry per copy)."""
        return [next(t["Value"] for t in s.get("Tags", []) if t["Key"] == SOURCE)
                for s in self._snapshots(cloud, DR, "tag:opsflows:volume", run.volume)]


def _counts(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts
