"""Snapshot management end to end in the local cloud: snapshots made, events routed, copies pending for as long
as EBS takes (at most 20 in flight into the DR region), AWS state checked. Both stacks are deployed once for
the module; each test works on its own volumes and reads only its own executions and alerts."""
from __future__ import annotations

import pytest

from localcloud import LocalCloud, events
from localcloud.patches import ebs_snapshot_copies as copies

HOME, DR = "us-west-2", "us-east-2"
RETAIN, DR_RETAIN = 3, 2          # small: each settled snapshot costs the local cloud ~0.5 s


class Snapshots:
    """Helpers in the user's terms: make a volume, snapshot it (which fires the workflow), read what is left."""

    def __init__(self, cloud):
        self.cloud, self.ec2 = cloud, cloud.client("ec2", HOME)
        self.primary = cloud.deployments["primary"].outputs["snapshotStateMachineArn"]
        self.dr_machine = cloud.deployments["dr"].outputs["snapshotStateMachineArn"]
        (self.copies_machine,) = [m.outputs["arn"] for m in cloud.deployments["primary"].of_type(
            "aws:sfn/stateMachine:StateMachine") if m.name.startswith("snapshots-copies")]
        self.begin()

    def begin(self) -> None:
        self._executions = {e.execution_arn for e in self.cloud._all_executions()}
        self._alerts = len(self.cloud.alerts())

    def volume(self) -> str:
        return self.ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"]

    def snapshot(self, volume: str, settle: bool = True, **params) -> str:
        made = self.ec2.create_snapshot(VolumeId=volume, **params)["SnapshotId"]
        if settle:                     # scheduled snapshots are minutes apart: each workflow finishes first
            self.cloud.run_until_idle()
        return made

    def of(self, volume: str, region: str = HOME) -> list[str]:
        found = self.cloud.client("ec2", region).describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]
        return sorted(s["SnapshotId"] for s in found)

    def copies_of(self, volume: str) -> dict[str, dict]:
        """DR copies by the primary snapshot they were made from (a second copy of one snapshot fails here)."""
        found = self.cloud.client("ec2", DR).describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "tag:opsflows:volume", "Values": [volume]}])["Snapshots"]
        by_source = {}
        for s in found:
            source = next(t["Value"] for t in s["Tags"] if t["Key"] == "opsflows:source-snapshot")
            assert source not in by_source, f"two DR copies of {source}"
            by_source[source] = s
        return by_source

    def executions(self, machine: str | None = None) -> list[dict]:
        """This test's executions (of one state machine), oldest first, with their histories."""
        new = [e for e in self.cloud._all_executions() if e.execution_arn not in self._executions
               and (machine is None or e.state_machine_arn == machine)]
        return [self.cloud.execution(e.execution_arn) for e in sorted(new, key=lambda e: e.start_date)]

    def statuses(self) -> list[str]:
        return [e["status"] for e in self.executions()]

    def alerts(self) -> list[dict]:
        return self.cloud.alerts()[self._alerts:]


@pytest.fixture(scope="module")
def deployed():
    with LocalCloud() as cloud:
        cloud.deploy("primary", {"opsflows:snapshots": {"retain": RETAIN}})
        cloud.deploy("dr", {"opsflows:snapshots": {"retain": DR_RETAIN}})
        yield Snapshots(cloud)


@pytest.fixture
def snapshots(deployed):
    deployed.begin()
    yield deployed
    deployed.cloud.clear_errors()
    copies.COPIES.release()
    copies.set_duration(copies.DEFAULT_DURATION)
    deployed.cloud.run_until_idle()


def test_retention_keeps_newest_per_volume_and_copies_to_dr(snapshots):
    volume, other = snapshots.volume(), snapshots.volume()
    others = [snapshots.snapshot(other) for _ in range(2)]
    made = [snapshots.snapshot(volume) for _ in range(RETAIN + 3)]

    assert snapshots.of(volume) == sorted(made[-RETAIN:])
    assert snapshots.of(other) == sorted(others)
    copies_made = snapshots.copies_of(volume)
    assert sorted(copies_made) == sorted(made[-DR_RETAIN:])                 # DR ran its own retention
    assert all(c["Encrypted"] and c["State"] == "completed" for c in copies_made.values())
    assert set(snapshots.statuses()) == {"SUCCEEDED"} and snapshots.alerts() == []
    assert len(snapshots.executions(snapshots.dr_machine)) == len(made) + len(others)   # one DR run per copy


def test_a_burst_beyond_the_quota_with_copies_longer_than_any_retry_budget_reaches_dr_once(snapshots, monkeypatch):
    """22 volumes at once, copies of 3 hours (the old CopyToDR retry budget gave up after ~75 minutes of refusals):
    20 copies in flight, 2 waiting in the queue, started as slots free; a duplicate event changes nothing."""
    # 3 h copies take 2.2 s here; the 24 h copy deadline (CopyToDR's task timeout) 17 s, which must outlast the
    # hold below even on a loaded machine (at 0.00005 it was 4.3 s, and a busy CI could reach it)
    monkeypatch.setenv("LOCALCLOUD_TIME_SCALE", "0.0002")
    volumes = [snapshots.volume() for _ in range(22)]
    copies.set_duration(3 * 3600)
    copies.COPIES.hold()             # the local cloud runs one Lambda at a time: AWS takes a burst in at once
    made = [snapshots.snapshot(v, settle=False) for v in volumes]
    events.emit_ebs_snapshot("123456789012", HOME, "createSnapshot", made[-1],          # delivered twice
                             source=f"arn:aws:ec2::{HOME}:volume/{volumes[-1]}")
    wait_until(lambda: len([c for c in copies.COPIES.of(DR) if c.source_id in made]) == 20
               and queued(snapshots) == 2 and snapshots.cloud.running() == 2)          # 2 wait for their token
    assert copies.COPIES.rejections[DR] == 0                  # never asked beyond the slots
    copies.COPIES.release()
    snapshots.cloud.run_until_idle()

    assert [len(snapshots.copies_of(v)) for v in volumes] == [1] * 22          # every snapshot, exactly once
    runs = snapshots.executions()
    assert {e["status"] for e in runs} == {"SUCCEEDED"} and snapshots.alerts() == []
    assert not [e["arn"] for e in runs if "Expire" in e["states"]]         # each was answered, none timed out
    ours = [c for c in copies.COPIES.of(DR) if c.source_id in made]
    assert len(ours) == 22 and max_in_flight(ours) == 20
    first_wave_ends = min(c.finished for c in ours)
    assert sum(c.started >= first_wave_ends for c in ours) == 2               # the queue waited for slots
    assert all(tag(snapshots.ec2, m, "opsflows:dr") == "copied" for m in made)


def test_retention_in_both_regions_stays_right_while_copies_are_pending(snapshots):
    volume = snapshots.volume()
    before = snapshots.snapshot(volume)                                  # copied already
    copies.COPIES.hold()
    made = [snapshots.snapshot(volume, settle=False) for _ in range(RETAIN + 2)]
    wait_until(lambda: len(copies_pending(snapshots, volume)) == len(made) and snapshots.cloud.running() == 0)
    # Primary: the copied one beyond the newest RETAIN went; those still waiting for DR are kept.
    assert snapshots.of(volume) == sorted(made)
    pending = copies_pending(snapshots, volume)
    assert all(c["State"] == "pending" and tags_of(c)["opsflows:managed"] == "pending" for c in pending)
    assert sorted(snapshots.copies_of(volume)) == sorted([before, *made])   # DR deleted no pending copy
    copies.COPIES.release()
    snapshots.cloud.run_until_idle()
    assert snapshots.of(volume) == sorted(made[-RETAIN:])
    assert sorted(snapshots.copies_of(volume)) == sorted(made[-DR_RETAIN:])
    assert set(snapshots.statuses()) == {"SUCCEEDED"} and snapshots.alerts() == []


def test_snapshots_opsflows_does_not_manage_are_never_deleted(snapshots):
    """AWS Backup's snapshots of the volume (the Tag step leaves them alone), and snapshots carrying the volume's
    tag but opsflows:managed=pending or false (another tool's, or half-made): all older than every managed one, so
    only the retention filter on opsflows:managed=true keeps them."""
    volume = snapshots.volume()
    backup = snapshots.snapshot(volume, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "aws:backup:source-resource", "Value": volume}]}])
    tagged = [snapshots.snapshot(volume, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "opsflows:volume", "Value": volume}, {"Key": "opsflows:managed", "Value": value},
        {"Key": "aws:dlm:lifecycle-policy-id", "Value": "policy-1"}]}]) for value in ("pending", "false")]
    made = [snapshots.snapshot(volume) for _ in range(RETAIN + 1)]
    assert snapshots.of(volume) == sorted([backup, *tagged, *made[-RETAIN:]])
    assert set(snapshots.statuses()) == {"SUCCEEDED"}


def test_a_copy_event_for_a_copy_opsflows_did_not_make_is_ignored(snapshots):
    volume = snapshots.volume()
    source = snapshots.snapshot(volume)
    dr = snapshots.cloud.client("ec2", DR)
    foreign = [dr.copy_snapshot(SourceRegion=HOME, SourceSnapshotId=source)["SnapshotId"]
               for _ in range(DR_RETAIN + 1)]                                # someone else's copies
    snapshots.cloud.run_until_idle()
    left = {s["SnapshotId"] for s in dr.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert set(foreign) <= left
    dr_runs = snapshots.executions(snapshots.dr_machine)
    assert [e["states"][-1] for e in dr_runs].count("Ignored") == len(foreign)
    settled = snapshots.executions(snapshots.copies_machine)
    assert [e["output"]["settled"]["outcome"] for e in settled].count("ignored") == len(foreign)


def test_a_copy_aws_fails_is_tried_again_and_then_alerted_once(snapshots):
    volume = snapshots.volume()
    snapshots.cloud.inject("ec2.SnapshotCopy=InternalError:1")
    retried = snapshots.snapshot(volume)
    assert list(snapshots.copies_of(volume)) == [retried] and snapshots.alerts() == []
    assert set(snapshots.statuses()) == {"SUCCEEDED"}

    snapshots.begin()
    snapshots.cloud.inject("ec2.SnapshotCopy=InternalError:3")
    failed = snapshots.snapshot(volume)
    (alert,) = snapshots.alerts()
    (execution,) = [e for e in snapshots.executions() if e["status"] == "FAILED"]
    assert execution["error"] == "CopyFailed" and execution["arn"] in alert["message"]
    assert failed in alert["message"] and "AWS failed all 3 copies" in alert["message"]
    assert failed not in snapshots.copies_of(volume)                 # the failed copies were removed
    assert tag(snapshots.ec2, failed, "opsflows:dr") == "pending"     # kept in the primary region


def test_a_malformed_event_fails_with_one_alert_and_deletes_nothing(snapshots):
    volume = snapshots.volume()
    made = [snapshots.snapshot(volume) for _ in range(RETAIN)]
    snapshots.begin()
    snapshots.cloud.emit({"source": "aws.ec2", "detail-type": "EBS Snapshot Notification",
                          "detail": {"event": "createSnapshot", "result": "succeeded", "snapshot_id": "snap-not-an-arn",
                                     "source": f"arn:aws:ec2::{HOME}:volume/{volume}"}}, region=HOME)
    snapshots.cloud.run_until_idle()
    failed = [e for e in snapshots.executions() if e["status"] == "FAILED"]
    assert [e["error"] for e in failed] == ["InvalidSnapshotArn"]
    (alert,) = snapshots.alerts()
    assert "state: Tag" in alert["message"] and "snap-not-an-arn" in alert["message"]
    assert failed[0]["arn"] in alert["message"]
    assert snapshots.of(volume) == sorted(made)


def test_an_unknown_snapshot_fails_with_an_alert_naming_it(snapshots):
    snapshots.cloud.emit({"source": "aws.ec2", "detail-type": "EBS Snapshot Notification",
                          "detail": {"event": "createSnapshot", "result": "succeeded",
                                     "snapshot_id": f"arn:aws:ec2::{HOME}:snapshot/snap-0123456789abcdef0",
                                     "source": f"arn:aws:ec2::{HOME}:volume/vol-0123456789abcdef0"}}, region=HOME)
    snapshots.cloud.run_until_idle()
    (execution,) = snapshots.executions()
    assert execution["status"] == "FAILED" and execution["error"] == "SnapshotNotFound"
    (alert,) = snapshots.alerts()
    assert "snap-0123456789abcdef0" in alert["message"]


def test_copy_denied_fails_after_retention_with_one_alert(snapshots):
    volume = snapshots.volume()
    snapshots.cloud.inject_error("ec2", "CopySnapshot", "UnauthorizedOperation",
                                 "not authorized to perform ec2:CopySnapshot")
    made = snapshots.snapshot(volume)
    (execution,) = snapshots.executions()
    assert execution["status"] == "FAILED" and execution["error"] == "UnauthorizedOperation"
    assert execution["states"][-4:] == ["CopyToDR", "CopyToDR failed", "NotifyFailure", "Failed"]
    (alert,) = snapshots.alerts()
    assert alert["attributes"] == {"workflow": "snapshots-primary", "state": "CopyToDR",
                                   "error": "UnauthorizedOperation"}
    assert snapshots.of(volume) == [made] and snapshots.copies_of(volume) == {}


def test_throttling_is_retried_by_the_sdk_then_by_the_state_machine_and_the_workflow_succeeds(snapshots):
    from localcloud import clock
    volume = snapshots.volume()
    # Five refusals: the handler's SDK tries 3 times (backing off twice), the Tag task fails with the error,
    # Step Functions retries it after a backoff, and the SDK absorbs the last two.
    throttle = snapshots.cloud.inject_error("ec2", "DescribeSnapshots", "RequestLimitExceeded", times=5)
    retries_before, sdk_before = len(clock.SLEPT["retry"]), len(clock.SLEPT["sdk-retry"])
    made = snapshots.snapshot(volume)
    assert throttle.injected == 5
    assert snapshots.statuses() == ["SUCCEEDED"] * 3 and snapshots.alerts() == []
    assert len(clock.SLEPT["retry"]) - retries_before == 1          # the Tag task was retried once, then ran
    assert len(clock.SLEPT["sdk-retry"]) - sdk_before == 4
    assert snapshots.copies_of(volume).keys() == {made}


def test_a_burst_of_snapshots_of_one_volume_ends_exact_without_failures(snapshots):
    volume = snapshots.volume()
    made = [snapshots.snapshot(volume, settle=False) for _ in range(RETAIN + 3)]   # all at once
    snapshots.cloud.run_until_idle()
    assert snapshots.of(volume) == sorted(made[-RETAIN:])
    assert sorted(snapshots.copies_of(volume)) == sorted(made[-DR_RETAIN:])       # every one copied, newest kept
    assert set(snapshots.statuses()) == {"SUCCEEDED"} and snapshots.alerts() == []


# -- helpers ---------------------------------------------------------------------------------------------------
def wait_until(condition, timeout: float = 20.0) -> None:
    import time
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the local cloud did not get there in time"
        time.sleep(0.02)


def queued(snapshots: Snapshots) -> int:
    """Snapshots waiting in the DR copy queue (the ledger table's queue partition)."""
    (table,) = snapshots.cloud.deployments["primary"].of_type("aws:dynamodb/table:Table")
    found = snapshots.cloud.client("dynamodb", HOME).query(
        TableName=table.outputs["name"], KeyConditionExpression="pk = :q",
        ExpressionAttributeValues={":q": {"S": f"queue#{DR}"}})
    return found["Count"]


def max_in_flight(made: list) -> int:
    moments = sorted([(c.started, 1) for c in made] + [(c.finished, -1) for c in made], key=lambda m: (m[0], m[1]))
    level = peak = 0
    for _, step in moments:
        level += step
        peak = max(peak, level)
    return peak


def copies_pending(snapshots: Snapshots, volume: str) -> list[dict]:
    return [s for s in snapshots.cloud.client("ec2", DR).describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag:opsflows:volume", "Values": [volume]}, {"Name": "status", "Values": ["pending"]}])["Snapshots"]]


def tags_of(described: dict) -> dict:
    return {t["Key"]: t["Value"] for t in described.get("Tags", [])}


def tag(ec2, snapshot_id: str, key: str) -> str | None:
    (found,) = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    return tags_of(found).get(key)
