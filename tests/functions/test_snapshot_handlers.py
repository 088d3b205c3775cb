"""Snapshot handlers against moto: tagging, retention, bad events and AWS errors (the DR copy queue's handlers
are in test_snapshot_copy_queue.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import patches
from snapshots import retain, tag
from snapshots.ec2 import SnapshotNotFound
from snapshots.model import InvalidSnapshotArn, NotASnapshotEvent
from tests.functions.conftest import sample_event

REGION, DR = "us-west-2", "us-east-2"


@pytest.fixture(scope="module")
def moto_once():
    """One moto for the module (starting one costs ~0.5 s): each test deletes the snapshots it made (`ec2`)."""
    patches.apply_all()
    with mock_aws():
        yield


@pytest.fixture
def ec2(moto_once, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    client = boto3.client("ec2", region_name=REGION)
    yield client
    for made in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]:
        client.delete_snapshot(SnapshotId=made["SnapshotId"])


def volume(ec2) -> str:
    return ec2.create_volume(Size=8, AvailabilityZone=f"{REGION}a")["VolumeId"]


def created(snapshot_id: str, volume_id: str, region: str = REGION) -> dict:
    return sample_event("ebs-createSnapshot-succeeded", snapshot_id=f"arn:aws:ec2::{region}:snapshot/{snapshot_id}",
                        source=f"arn:aws:ec2::{region}:volume/{volume_id}")


def tags(ec2, snapshot_id: str) -> dict:
    (s,) = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    return {t["Key"]: t["Value"] for t in s.get("Tags", [])}


def managed_snapshot(ec2, volume_id: str, copied: bool = True) -> str:
    """A snapshot the primary's Tag step made managed, its DR copy completed (`copied`) or still to make."""
    snapshot_id = ec2.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    tag.tag_snapshot(created(snapshot_id, volume_id), "createSnapshot")
    if copied:
        ec2.create_tags(Resources=[snapshot_id], Tags=[{"Key": "opsflows:dr", "Value": "copied"}])
    return snapshot_id


# -- tag -------------------------------------------------------------------------------------------------
def test_tag_marks_the_snapshot_managed_with_its_volume(ec2):
    vol = volume(ec2)
    snap = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    result = tag.handler(created(snap, vol), None)
    assert result["managed"] is True and result["volumeId"] == vol
    assert result["snapshot"] == {"id": snap, "region": REGION}
    assert tags(ec2, snap) == {"opsflows:managed": "true", "opsflows:volume": vol, "opsflows:dr": "pending"}
    assert result["dr"] == "pending"


def test_tag_never_marks_a_copied_snapshot_pending_again(ec2):
    vol = volume(ec2)
    snap = managed_snapshot(ec2, vol)                       # its copy completed: opsflows:dr=copied
    result = tag.handler(created(snap, vol), None)          # the createSnapshot event delivered again
    assert result["dr"] == "copied" and tags(ec2, snap)["opsflows:dr"] == "copied"


def test_tag_leaves_snapshots_of_other_managers_alone(ec2):
    vol = volume(ec2)
    snap = ec2.create_snapshot(VolumeId=vol, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "aws:dlm:lifecycle-policy-id", "Value": "policy-1"}]}])["SnapshotId"]
    result = tag.handler(created(snap, vol), None)
    assert result["managed"] is False and "aws:dlm:" in result["reason"]
    assert "opsflows:managed" not in tags(ec2, snap)


@pytest.mark.parametrize("event, error", [
    ({"detail-type": "EBS Snapshot Notification"}, NotASnapshotEvent),
    ({"detail-type": "AWS API Call via CloudTrail", "detail": {}}, NotASnapshotEvent),
    (sample_event("ebs-createSnapshot-succeeded", snapshot_id="snap-01234567"), InvalidSnapshotArn),
    (sample_event("ebs-createSnapshot-succeeded", result="failed"), NotASnapshotEvent),
    (sample_event("ebs-copySnapshot-succeeded"), NotASnapshotEvent),
])
def test_tag_refuses_malformed_events(ec2, event, error):
    with pytest.raises(error):
        tag.handler(event, None)


def test_tag_in_dr_adopts_only_copies_opsflows_made(ec2, monkeypatch):
    """A copy carrying the volume's tag but not opsflows:source-snapshot (someone copied a DR copy with its tags)
    is not adopted: DR retention must never count or delete it."""
    monkeypatch.setenv("SNAPSHOT_EVENT", "copySnapshot")
    vol = volume(ec2)
    snap = ec2.create_snapshot(VolumeId=vol, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "opsflows:volume", "Value": vol}]}])["SnapshotId"]
    result = tag.handler(sample_event("ebs-copySnapshot-succeeded", snapshot_id=f"arn:aws:ec2::{REGION}:snapshot/{snap}",
                                      source=f"arn:aws:ec2::{DR}:snapshot/snap-0123456789abcdef0"), None)
    assert result["managed"] is False and result["reason"] == "not a copy made by opsflows"
    assert tags(ec2, snap) == {"opsflows:volume": vol}


def test_tag_of_an_unknown_snapshot_fails_by_name(ec2):
    with pytest.raises(SnapshotNotFound):
        tag.handler(created("snap-0123456789abcdef0", "vol-0123456789abcdef0"), None)


def test_the_documented_event_arn_form_names_the_region():
    from snapshots.model import SnapshotEvent
    parsed = SnapshotEvent.parse(sample_event("ebs-createSnapshot-succeeded"), "createSnapshot")
    assert (parsed.snapshot.id, parsed.snapshot.region, parsed.source) == ("snap-01234567", "us-west-2", "vol-01234567")
    parsed = SnapshotEvent.parse(sample_event("ebs-copySnapshot-succeeded"), "copySnapshot")
    assert (parsed.snapshot.region, parsed.source, parsed.source_region) == ("us-west-2", "snap-76543210", "eu-west-1")


# -- retain ----------------------------------------------------------------------------------------------
def run_retain(monkeypatch, snapshot_id, volume_id, keep, **env) -> dict:
    monkeypatch.setenv("RETAIN", str(keep))
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    return retain.handler({"snapshot": {"id": snapshot_id, "region": REGION}, "volumeId": volume_id}, None)


def test_retain_keeps_the_newest_and_never_unmanaged_or_other_volumes(ec2, monkeypatch):
    vol, other = volume(ec2), volume(ec2)
    unmanaged = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    others = [managed_snapshot(ec2, other) for _ in range(2)]
    made = [managed_snapshot(ec2, vol) for _ in range(5)]
    result = run_retain(monkeypatch, made[-1], vol, keep=2)
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert left == {unmanaged, *others, *made[-2:]}
    assert sorted(result["deleted"]) == sorted(made[:3]) and result["kept"] == made[-2:]


def test_retain_dry_run_deletes_nothing_and_reports(ec2, monkeypatch):
    vol = volume(ec2)
    made = [managed_snapshot(ec2, vol) for _ in range(4)]
    result = run_retain(monkeypatch, made[-1], vol, keep=1, DRY_RUN="true")
    assert result["deleted"] == [] and sorted(result["wouldDelete"]) == sorted(made[:3])
    assert len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]) == 4


def test_retain_skips_a_snapshot_in_use_and_reports_it(ec2, monkeypatch):
    vol = volume(ec2)
    made = [managed_snapshot(ec2, vol) for _ in range(3)]
    in_use = made[0]                                  # e.g. it backs an AMI: EC2 refuses to delete it

    class Client:
        def __getattr__(self, name):
            return getattr(ec2, name)

        def delete_snapshot(self, SnapshotId):
            if SnapshotId == in_use:
                raise ClientError({"Error": {"Code": "InvalidSnapshot.InUse", "Message": "in use by ami-1"}},
                                  "DeleteSnapshot")
            return ec2.delete_snapshot(SnapshotId=SnapshotId)

    monkeypatch.setattr(retain, "ec2", lambda region: Client())
    result = run_retain(monkeypatch, made[-1], vol, keep=1)
    assert result["skippedInUse"] == [in_use] and result["deleted"] == [made[1]]
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert left == {in_use, made[2]}


def test_retain_never_deletes_the_snapshot_of_the_event(ec2, monkeypatch):
    vol = volume(ec2)
    made = [managed_snapshot(ec2, vol) for _ in range(3)]
    result = run_retain(monkeypatch, made[0], vol, keep=1)      # an old event delivered late
    assert made[0] not in result["deleted"] and sorted(result["deleted"]) == [made[1]]


def test_retain_holds_snapshots_whose_dr_copy_is_not_made_yet(ec2, monkeypatch):
    vol = volume(ec2)
    copied = [managed_snapshot(ec2, vol) for _ in range(2)]
    waiting = [managed_snapshot(ec2, vol, copied=False) for _ in range(2)]       # opsflows:dr=pending
    newest = managed_snapshot(ec2, vol)
    result = run_retain(monkeypatch, newest, vol, keep=1)
    assert sorted(result["deleted"]) == sorted(copied) and sorted(result["heldForDR"]) == sorted(waiting)
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert left == {*waiting, newest}


def test_retain_after_a_copy_protects_no_snapshot_and_orders_copies_by_their_source(ec2, monkeypatch):
    """DR: copies complete in any order (a retried copy of an old snapshot last); the newest sources stay."""
    monkeypatch.setenv("RETAIN", "2")
    vol = volume(ec2)
    sources = ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]
    copies = {}
    for when in (sources[2], sources[1], sources[0]):          # the oldest source's copy is made last
        snap = ec2.create_snapshot(VolumeId=vol, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
            {"Key": "opsflows:managed", "Value": "true"}, {"Key": "opsflows:volume", "Value": vol},
            {"Key": "opsflows:source-time", "Value": when}]}])["SnapshotId"]
        copies[when] = snap
    result = retain.handler({"region": REGION, "volumeId": vol}, None)
    assert result["deleted"] == [copies[sources[0]]]            # although its own StartTime is the newest
    assert result["kept"] == [copies[sources[1]], copies[sources[2]]]


def test_retention_asked_to_keep_none_deletes_nothing(ec2):
    """keep=0 past the handler's RETAIN check (a direct call): refused before any snapshot is deleted."""
    vol = volume(ec2)
    made = [managed_snapshot(ec2, vol) for _ in range(3)]
    with pytest.raises(ValueError, match="keep must be >= 1"):
        retain.enforce_retention(snapshot_id=None, region=REGION, volume_id=vol, keep=0, max_age_days=None,
                                 dry_run=False)
    assert sorted(s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]) == sorted(made)


def test_max_age_expires_old_snapshots_but_keeps_the_newest():
    from snapshots.retention import Candidate, select_expired
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    old = [Candidate(f"snap-{i}", now - timedelta(days=40 - i)) for i in range(3)]
    assert [c.id for c in select_expired(old, keep=7, current="x", now=now, max_age_days=30)] == ["snap-0", "snap-1"]
    fresh = Candidate("snap-new", now)
    assert [c.id for c in select_expired([*old, fresh], keep=7, current="x", now=now, max_age_days=30)] == \
        ["snap-0", "snap-1", "snap-2"]


def test_retain_bad_settings_are_named(ec2, monkeypatch):
    with pytest.raises(retain.RetentionError, match="RETAIN must be >= 1"):
        run_retain(monkeypatch, "snap-0123456789abcdef0", "vol-0123456789abcdef0", keep=0)
    with pytest.raises(retain.RetentionError, match="volumeId must be an EBS volume id"):
        run_retain(monkeypatch, "snap-0123456789abcdef0", None, keep=2)
    with pytest.raises(retain.RetentionError, match="region must be a region name"):
        retain.handler({"volumeId": "vol-0123456789abcdef0"}, None)


def test_throttling_leaves_the_handler_as_a_named_error(ec2, monkeypatch):
    def throttled(*args, **kwargs):
        raise ClientError({"Error": {"Code": "RequestLimitExceeded", "Message": "slow down"}}, "DescribeSnapshots")
    monkeypatch.setattr(retain, "managed_snapshots_of", throttled)
    with pytest.raises(Exception) as raised:
        run_retain(monkeypatch, "snap-0123456789abcdef0", "vol-0123456789abcdef0", keep=2)
    assert type(raised.value).__name__ == "RequestLimitExceeded"


def test_retention_reads_every_page(ec2, monkeypatch):
    from snapshots import ec2 as ec2_module
    monkeypatch.setattr(ec2_module, "PAGE", 5)
    vol = volume(ec2)
    made = [managed_snapshot(ec2, vol) for _ in range(12)]
    result = run_retain(monkeypatch, made[-1], vol, keep=3)
    assert result["managed"] == 12 and sorted(result["deleted"]) == sorted(made[:9])
