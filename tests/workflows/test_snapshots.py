"""Snapshot management end to end in the local cloud: snapshots made, events routed, AWS state checked."""
from __future__ import annotations

import pytest

HOME, DR = "us-west-2", "us-east-2"
RETAIN, DR_RETAIN = 7, 3


class Snapshots:
    """Helpers in the user's terms: make a volume, snapshot it (which fires the workflow), read what is left."""

    def __init__(self, cloud):
        self.cloud, self.ec2 = cloud, cloud.client("ec2", HOME)

    def volume(self) -> str:
        return self.ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"]

    def snapshot(self, volume: str, settle: bool = True) -> str:
        made = self.ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
        if settle:                     # scheduled snapshots are minutes apart: each workflow finishes first
            self.cloud.run_until_idle()
        return made

    def of(self, volume: str, region: str = HOME) -> list[str]:
        found = self.cloud.client("ec2", region).describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]
        return sorted(s["SnapshotId"] for s in found)

    def copies_of(self, volume: str) -> dict[str, dict]:
        """DR copies by the primary snapshot they were made from."""
        found = self.cloud.client("ec2", DR).describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "tag:opsflows:volume", "Values": [volume]}])["Snapshots"]
        return {next(t["Value"] for t in s["Tags"] if t["Key"] == "opsflows:source-snapshot"): s for s in found}


@pytest.fixture
def snapshots(cloud):
    cloud.deploy("primary")
    cloud.deploy("dr")
    return Snapshots(cloud)


def statuses(cloud) -> list[str]:
    return [e["status"] for e in cloud.executions()]


def test_retention_keeps_newest_per_volume_and_copies_to_dr(cloud, snapshots):
    volume, other = snapshots.volume(), snapshots.volume()
    others = [snapshots.snapshot(other) for _ in range(2)]
    made = [snapshots.snapshot(volume) for _ in range(RETAIN + 3)]

    assert snapshots.of(volume) == sorted(made[-RETAIN:])
    assert snapshots.of(other) == sorted(others)
    copies = snapshots.copies_of(volume)
    assert sorted(copies) == sorted(made[-DR_RETAIN:])                 # DR ran its own retention
    assert all(c["Encrypted"] for c in copies.values())
    assert set(statuses(cloud)) == {"SUCCEEDED"} and cloud.alerts() == []
    dr_machine = cloud.deployments["dr"].outputs["snapshotStateMachineArn"]
    assert len(cloud.executions(dr_machine)) == len(made) + len(others)   # one DR execution per copy


def test_unmanaged_snapshots_are_never_deleted(cloud):
    ec2 = cloud.client("ec2", HOME)
    volume = ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"]
    before = [ec2.create_snapshot(VolumeId=volume)["SnapshotId"] for _ in range(3)]   # before opsflows existed
    cloud.deploy("primary")
    snapshots = Snapshots(cloud)
    made = [snapshots.snapshot(volume) for _ in range(RETAIN + 2)]
    assert snapshots.of(volume) == sorted(before + made[-RETAIN:])


def test_a_copy_event_for_a_copy_opsflows_did_not_make_is_ignored(cloud, snapshots):
    volume = snapshots.volume()
    source = snapshots.ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    cloud.run_until_idle()
    foreign = [cloud.client("ec2", DR).copy_snapshot(SourceRegion=HOME, SourceSnapshotId=source)["SnapshotId"]
               for _ in range(DR_RETAIN + 1)]                                # someone else's copies
    cloud.run_until_idle()
    left = {s["SnapshotId"] for s in cloud.client("ec2", DR).describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert set(foreign) <= left
    dr_runs = cloud.executions(cloud.deployments["dr"].outputs["snapshotStateMachineArn"])
    assert [e["states"][-1] for e in dr_runs].count("Ignored") == len(foreign)


def test_a_malformed_event_fails_with_one_alert_and_deletes_nothing(cloud, snapshots):
    volume = snapshots.volume()
    made = [snapshots.snapshot(volume) for _ in range(RETAIN)]
    cloud.emit({"source": "aws.ec2", "detail-type": "EBS Snapshot Notification",
                "detail": {"event": "createSnapshot", "result": "succeeded", "snapshot_id": "snap-not-an-arn",
                           "source": f"arn:aws:ec2::{HOME}:volume/{volume}"}}, region=HOME)
    cloud.run_until_idle()
    failed = [e for e in cloud.executions() if e["status"] == "FAILED"]
    assert [e["error"] for e in failed] == ["InvalidSnapshotArn"]
    (alert,) = cloud.alerts()
    assert "state: Tag" in alert["message"] and "snap-not-an-arn" in alert["message"]
    assert failed[0]["arn"] in alert["message"]
    assert snapshots.of(volume) == sorted(made)


def test_an_unknown_snapshot_fails_with_an_alert_naming_it(cloud, snapshots):
    cloud.emit({"source": "aws.ec2", "detail-type": "EBS Snapshot Notification",
                "detail": {"event": "createSnapshot", "result": "succeeded",
                           "snapshot_id": f"arn:aws:ec2::{HOME}:snapshot/snap-0123456789abcdef0",
                           "source": f"arn:aws:ec2::{HOME}:volume/vol-0123456789abcdef0"}}, region=HOME)
    cloud.run_until_idle()
    (execution,) = cloud.executions()
    assert execution["status"] == "FAILED" and execution["error"] == "SnapshotNotFound"
    (alert,) = cloud.alerts()
    assert "snap-0123456789abcdef0" in alert["message"]


def test_copy_denied_fails_after_retention_with_one_alert(cloud, snapshots):
    volume = snapshots.volume()
    cloud.inject_error("ec2", "CopySnapshot", "UnauthorizedOperation", "not authorized to perform ec2:CopySnapshot")
    made = snapshots.snapshot(volume)
    (execution,) = cloud.executions()
    assert execution["status"] == "FAILED" and execution["error"] == "UnauthorizedOperation"
    assert execution["states"][-4:] == ["CopyToDR", "CopyToDR failed", "NotifyFailure", "Failed"]
    (alert,) = cloud.alerts()
    assert alert["attributes"] == {"workflow": "snapshots-primary", "state": "CopyToDR",
                                   "error": "UnauthorizedOperation"}
    assert snapshots.of(volume) == [made] and snapshots.copies_of(volume) == {}


def test_throttling_is_retried_by_the_sdk_then_by_the_state_machine_and_the_workflow_succeeds(cloud, snapshots):
    from localcloud import clock
    volume = snapshots.volume()
    # Five refusals: the handler's SDK tries 3 times (backing off twice), the Tag task fails with the error,
    # Step Functions retries it after a backoff, and the SDK absorbs the last two.
    throttle = cloud.inject_error("ec2", "DescribeSnapshots", "RequestLimitExceeded", times=5)
    retries_before, sdk_before = len(clock.SLEPT["retry"]), len(clock.SLEPT["sdk-retry"])
    made = snapshots.snapshot(volume)
    assert throttle.injected == 5
    assert [e["status"] for e in cloud.executions()] == ["SUCCEEDED", "SUCCEEDED"] and cloud.alerts() == []
    assert len(clock.SLEPT["retry"]) - retries_before == 1          # the Tag task was retried once, then ran
    assert len(clock.SLEPT["sdk-retry"]) - sdk_before == 4
    assert snapshots.copies_of(volume).keys() == {made}


def test_dry_run_deletes_nothing_and_reports_what_it_would(cloud):
    cloud.deploy("primary", {"opsflows:snapshots": {"retain": 2, "dryRun": True}})
    snapshots = Snapshots(cloud)
    volume = snapshots.volume()
    made = [snapshots.snapshot(volume) for _ in range(4)]
    assert snapshots.of(volume) == sorted(made)
    last = cloud.executions()[-1]["output"]["retention"]
    assert last["deleted"] == [] and sorted(last["wouldDelete"]) == sorted(made[:2])


def test_a_burst_of_snapshots_ends_consistent_without_failures(cloud, snapshots):
    volume = snapshots.volume()
    made = [snapshots.snapshot(volume, settle=False) for _ in range(RETAIN + 3)]   # all at once
    cloud.run_until_idle()
    assert snapshots.of(volume) == sorted(made[-RETAIN:])
    copies = snapshots.copies_of(volume)
    assert set(copies) <= set(made) and 0 < len(copies) <= DR_RETAIN
    assert set(statuses(cloud)) == {"SUCCEEDED"} and cloud.alerts() == []
