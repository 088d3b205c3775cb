"""EBS snapshot management under faults: a volume at its retention limit gets one more snapshot; the primary
keeps its newest N, the copy reaches the DR region once, where the DR workflow keeps its own newest N."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import FAILED, SUCCEEDED, BadInput, Exercise, FaultCase

HOME, DR = "us-west-2", "us-east-2"
RETAIN, DR_RETAIN = 2, 1
SOURCE = "opsflows:source-snapshot"


@dataclass
class Run:
    volume: str
    made: list[str] = field(default_factory=list)          # the volume's snapshots, oldest first
    foreign: str = ""                                       # an AWS Backup snapshot of the same volume


class Snapshots(Exercise):
    workflow = "snapshots"
    stacks = {"primary": {"opsflows:snapshots": {"retain": RETAIN}}, "dr": {"opsflows:snapshots": {"retain": DR_RETAIN}}}
    output = "snapshotStateMachineArn"
    faults = (
        FaultCase(("ec2.DescribeSnapshots=RequestLimitExceeded:4",), SUCCEEDED, "EC2 throttling beyond the SDK's retries"),
        FaultCase(("ec2.CopySnapshot=ResourceLimitExceeded:2",), SUCCEEDED, "the DR copy quota, freed later"),
        FaultCase(("ec2.DeleteSnapshot=InternalError:3",), SUCCEEDED, "EC2 5xx during retention"),
        FaultCase(("lambda.Invoke=TooManyRequestsException:2",), SUCCEEDED, "Lambda throttles Step Functions"),
        FaultCase(("ec2.CopySnapshot=UnauthorizedOperation:1",), FAILED, "the copy is denied once"),
    )
    bad_inputs = (
        BadInput("an event without detail", {"source": "aws.ec2", "detail-type": "EBS Snapshot Notification"},
                 "detail"),
    )

    def prepare(self, cloud: Any) -> Run:
        ec2 = cloud.client("ec2", HOME)
        run = Run(ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"])
        for _ in range(RETAIN):
            run.made.append(ec2.create_snapshot(VolumeId=run.volume)["SnapshotId"])
            cloud.run_until_idle()
        run.foreign = ec2.create_snapshot(VolumeId=run.volume, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
            {"Key": "aws:backup:source-resource", "Value": run.volume}]}])["SnapshotId"]
        return run

    def start(self, cloud: Any, run: Run) -> None:
        run.made.append(cloud.client("ec2", HOME).create_snapshot(VolumeId=run.volume)["SnapshotId"])

    def expected(self, cloud: Any, run: Run) -> dict:
        return {"primary": sorted([*run.made[-RETAIN:], run.foreign]), "dr": sorted(run.made[-DR_RETAIN:])}

    def observe(self, cloud: Any, run: Run) -> dict:
        return {"primary": sorted(s["SnapshotId"] for s in self._snapshots(cloud, HOME, "volume-id", run.volume)),
                "dr": sorted(self._copies(cloud, run))}

    def violations(self, cloud: Any, run: Run) -> list[str]:
        found = []
        primary = {s["SnapshotId"] for s in self._snapshots(cloud, HOME, "volume-id", run.volume)}
        if run.foreign not in primary:
            found.append(f"the AWS Backup snapshot {run.foreign} was deleted")
        copies = self._copies(cloud, run)
        found += [f"{n} DR copies of {source}" for source, n in _counts(copies).items() if n > 1]
        return found

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
