"""The copy deadline and dry run, on a primary stack that keeps one copy in flight (`maxConcurrentCopies: 1`) and
gives a snapshot six minutes to start its DR copy (`copyDeadlineHours: 0.1`), so the deadline is reached in
simulated time within a fraction of a second."""
from __future__ import annotations

import json

import pytest

from localcloud import LocalCloud
from localcloud.patches import ebs_snapshot_copies as copies

HOME, DR = "us-west-2", "us-east-2"
CONFIG = {"opsflows:snapshots": {"retain": 2, "dryRun": True, "copyDeadlineHours": 0.1, "maxConcurrentCopies": 1}}


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud() as local:
        local.deploy("primary", CONFIG)
        yield local


def new_executions(cloud, before: set) -> list[dict]:
    fresh = sorted((e for e in cloud._all_executions() if e.execution_arn not in before), key=lambda e: e.start_date)
    return [cloud.execution(e.execution_arn) for e in fresh]


def test_the_deadline_is_the_copy_tasks_timeout(cloud):
    machines = [m for m in cloud.deployments["primary"].of_type("aws:sfn/stateMachine:StateMachine")
                if m.name.startswith("snapshots-")]
    assert [json.loads(m.inputs["definition"])["States"]["CopyToDR"]["TimeoutSeconds"] for m in machines] == [360, 360]


def test_a_deadline_reached_alerts_once_naming_every_snapshot_still_waiting(cloud):
    ec2 = cloud.client("ec2", HOME)
    before, alerts = {e.execution_arn for e in cloud._all_executions()}, len(cloud.alerts())
    volume = ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"]
    copies.set_duration(10 * 3600)                          # the one slot stays taken for ten hours
    made = [ec2.create_snapshot(VolumeId=volume)["SnapshotId"] for _ in range(3)]
    try:
        wait_until(lambda: len(new_executions(cloud, before)) == 3 and cloud.running() == 0)
        (started,) = [c.source_id for c in copies.COPIES.of(DR) if c.source_id in made]
    finally:
        for pending in copies.COPIES.of(DR):               # cancel the ten-hour copy: the test is over
            cloud.client("ec2", DR).delete_snapshot(SnapshotId=pending.id)
        copies.set_duration(copies.DEFAULT_DURATION)
    waiting = [m for m in made if m != started]
    runs = new_executions(cloud, before)
    failed = [e for e in runs if e["status"] == "FAILED"]
    assert sorted(e["status"] for e in runs) == ["FAILED", "FAILED", "SUCCEEDED"]
    assert {e["error"] for e in failed} == {"CopyDeadlineReached"}
    (alert,) = cloud.alerts()[alerts:]
    assert alert["attributes"]["error"] == "CopyDeadlineReached"
    assert all(s in alert["message"] for s in waiting) and started not in alert["message"]
    assert all(e["arn"] in alert["message"] for e in failed)
    assert "2 snapshot(s) waited copyDeadlineHours=0.1" in alert["message"]
    tags = {s["SnapshotId"]: {t["Key"]: t["Value"] for t in s["Tags"]}
            for s in ec2.describe_snapshots(SnapshotIds=waiting)["Snapshots"]}
    assert all(t["opsflows:dr"] == "pending" for t in tags.values())     # kept until a copy is made


def test_dry_run_deletes_nothing_and_reports_what_it_would(cloud):
    ec2 = cloud.client("ec2", HOME)
    before = {e.execution_arn for e in cloud._all_executions()}
    volume = ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"]
    made = []
    for _ in range(4):
        made.append(ec2.create_snapshot(VolumeId=volume)["SnapshotId"])
        cloud.run_until_idle()
    left = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]
    assert sorted(s["SnapshotId"] for s in left) == sorted(made)
    last = [e for e in new_executions(cloud, before) if "Retain" in e["states"]][-1]["output"]["retention"]
    assert last["deleted"] == [] and sorted(last["wouldDelete"]) == sorted(made[:2])


def wait_until(condition, timeout: float = 20.0) -> None:
    import time
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the local cloud did not get there in time"
        time.sleep(0.05)
