"""The DR copy queue's handlers against moto (copies pending as in EBS, see localcloud.patches.ebs_snapshot_copies):
CopyToDR (queue, start what the quota allows, one copy per snapshot), Settle (a completed or failed copy) and
Expire (the copy deadline: one report naming every snapshot still waiting)."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import patches
from localcloud.patches import ebs_snapshot_copies as copies
from snapshots import copy, dispatch, expire, settle, tag
from snapshots.ledger import Ledger
from snapshots.model import NotASnapshotEvent
from tests.functions.conftest import sample_event

REGION, DR = "us-west-2", "us-east-2"
TABLE = "snapshots-copies"


@pytest.fixture(scope="module")
def moto_once():
    """One moto for the module (starting one costs ~0.5 s): each test cleans what it made (`ec2`)."""
    patches.apply_all()
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        yield


@pytest.fixture
def ec2(moto_once, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    for key, value in {"TABLE_NAME": TABLE, "DR_REGION": DR, "MAX_COPIES": "20", "COPY_ATTEMPTS": "2",
                       "COPY_DEADLINE_HOURS": "24"}.items():
        monkeypatch.setenv(key, value)
    copies.set_duration(3600)          # an hour: every copy here stays pending while the test runs
    yield boto3.client("ec2", region_name=REGION)
    for made in dr_snapshots():        # deleting a pending copy cancels it
        boto3.client("ec2", region_name=DR).delete_snapshot(SnapshotId=made["SnapshotId"])
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    copies.reset()


def dr_snapshots() -> list[dict]:
    return boto3.client("ec2", region_name=DR).describe_snapshots(OwnerIds=["self"])["Snapshots"]


def tags_of(snapshot: dict) -> dict:
    return {t["Key"]: t["Value"] for t in snapshot.get("Tags", [])}


def entry(snapshot_id: str) -> dict:
    return boto3.resource("dynamodb", region_name=REGION).Table(TABLE).get_item(
        Key={"pk": f"snapshot#{snapshot_id}", "sk": "copy"}, ConsistentRead=True).get("Item") or {}


def managed(ec2, team: str = "storage") -> dict:
    """A new snapshot the Tag step has made managed: its output, what CopyToDR receives as `source`."""
    vol = ec2.create_volume(Size=8, AvailabilityZone=f"{REGION}a")["VolumeId"]
    snap = ec2.create_snapshot(VolumeId=vol, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "team", "Value": team}]}])["SnapshotId"]
    return tag.tag_snapshot(sample_event("ebs-createSnapshot-succeeded",
                                         snapshot_id=f"arn:aws:ec2::{REGION}:snapshot/{snap}",
                                         source=f"arn:aws:ec2::{REGION}:volume/{vol}"), "createSnapshot")


def queue(source: dict, execution: str = "arn:aws:states:us-west-2:123456789012:execution:flow:one") -> dict:
    return copy.handler({"source": source, "token": f"token-{execution}", "execution": execution}, None)


def completed(copy_id: str, source_id: str, result: str = "succeeded", cause: str = "") -> dict:
    return {"event": sample_event(f"ebs-copySnapshot-{result}", snapshot_id=f"arn:aws:ec2::{DR}:snapshot/{copy_id}",
                                  source=f"arn:aws:ec2::{REGION}:snapshot/{source_id}", cause=cause),
            "execution": f"arn:aws:states:us-west-2:123456789012:execution:flow:settle-{copy_id}"}


def test_a_copy_starts_at_once_encrypted_with_its_tags_and_its_source_time(ec2):
    source = managed(ec2)
    result = queue(source)
    assert result["answered"] is True and result["dispatch"]["started"] == [source["snapshot"]["id"]]
    (made,) = dr_snapshots()
    assert made["State"] == "pending" and made["Encrypted"] is True
    assert tags_of(made) == {"team": "storage", "opsflows:managed": "pending", "opsflows:volume": source["volumeId"],
                             "opsflows:source-snapshot": source["snapshot"]["id"], "opsflows:source-region": REGION,
                             "opsflows:source-time": source["startTime"]}
    assert entry(source["snapshot"]["id"])["state"] == "copying" and entry(source["snapshot"]["id"])["copy"] == made["SnapshotId"]


def test_beyond_the_slots_a_snapshot_waits_in_the_queue_without_asking_the_region(ec2, monkeypatch):
    monkeypatch.setenv("MAX_COPIES", "1")
    first, second = managed(ec2), managed(ec2)
    queue(first)
    result = queue(second, "arn:aws:states:us-west-2:123456789012:execution:flow:two")
    assert result["answered"] is False and result["dispatch"]["in_flight"] == 1
    assert len(dr_snapshots()) == 1 and entry(second["snapshot"]["id"])["state"] == "waiting"


def test_a_duplicate_event_from_another_execution_makes_no_second_copy(ec2):
    source = managed(ec2)
    queue(source)
    again = queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:duplicate")
    assert again["reused"] is True and len(dr_snapshots()) == 1


def test_a_refusal_for_the_quota_with_none_of_ours_in_flight_is_retried_by_the_task(ec2, monkeypatch):
    source = managed(ec2)

    def full(*args, **kwargs):
        raise ClientError({"Error": {"Code": "ResourceLimitExceeded", "Message": "20 copies"}}, "CopySnapshot")
    monkeypatch.setattr(dispatch, "start_copy", full)
    with pytest.raises(copy.CopySlotsBusy):
        queue(source)
    assert entry(source["snapshot"]["id"])["state"] == "waiting"          # still in its place in the queue
    event = {"source": source, "token": "t2", "execution": "arn:aws:states:us-west-2:123456789012:execution:flow:one",
             "retry": copy.BUSY_RETRIES}
    assert copy.handler(event, None)["answered"] is False                # then the task just waits for its token


def test_a_copy_that_cannot_start_for_good_leaves_the_queue_failed(ec2, monkeypatch):
    source = managed(ec2)

    def denied(*args, **kwargs):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "CopySnapshot")
    monkeypatch.setattr(dispatch, "start_copy", denied)
    result = queue(source)
    assert result["dispatch"]["failed"] == [source["snapshot"]["id"]] and dr_snapshots() == []
    assert entry(source["snapshot"]["id"])["reason"] == "UnauthorizedOperation: no"


def test_a_completed_copy_marks_its_source_copied_and_starts_the_next(ec2, monkeypatch):
    monkeypatch.setenv("MAX_COPIES", "1")
    first, second = managed(ec2), managed(ec2)
    queue(first)
    queue(second, "arn:aws:states:us-west-2:123456789012:execution:flow:two")
    (made,) = dr_snapshots()
    boto3.client("ec2", region_name=DR).delete_snapshot(SnapshotId=made["SnapshotId"])   # as if it completed
    result = settle.handler(completed(made["SnapshotId"], first["snapshot"]["id"]), None)
    assert result["outcome"] == "copied" and result["dispatch"]["started"] == [second["snapshot"]["id"]]
    (source,) = ec2.describe_snapshots(SnapshotIds=[first["snapshot"]["id"]])["Snapshots"]
    assert tags_of(source)["opsflows:dr"] == "copied"
    assert settle.handler(completed(made["SnapshotId"], first["snapshot"]["id"]), None)["outcome"] == "copied"


def test_a_copy_aws_fails_is_removed_and_tried_again_then_alerted(ec2):
    source = managed(ec2)
    queue(source)
    (made,) = dr_snapshots()
    failed = completed(made["SnapshotId"], source["snapshot"]["id"], "failed", "internal error")
    assert settle.handler(failed, None)["outcome"] == "retry" and dr_snapshots() == []
    queue(source, failed["execution"])                                    # the Copy again path
    (again,) = dr_snapshots()
    with pytest.raises(settle.CopyFailed, match="AWS failed all 2 copies"):          # COPY_ATTEMPTS=2
        settle.handler(completed(again["SnapshotId"], source["snapshot"]["id"], "failed", "internal error"), None)
    assert entry(source["snapshot"]["id"])["state"] == "failed" and dr_snapshots() == []
    (kept,) = ec2.describe_snapshots(SnapshotIds=[source["snapshot"]["id"]])["Snapshots"]
    assert tags_of(kept)["opsflows:dr"] == "pending"                     # retention keeps it


def test_a_copy_opsflows_did_not_make_only_frees_a_slot(ec2):
    result = settle.handler(completed("snap-0123456789abcdef0", "snap-0fedcba987654321f"), None)
    assert result["outcome"] == "ignored"


def test_settle_refuses_an_event_that_is_not_a_copy(ec2):
    with pytest.raises(NotASnapshotEvent):
        settle.handler({"event": sample_event("ebs-createSnapshot-succeeded"), "execution": "x"}, None)


def test_the_deadline_report_takes_every_waiting_snapshot_once(ec2, monkeypatch):
    monkeypatch.setenv("MAX_COPIES", "1")
    sources = [managed(ec2) for _ in range(3)]
    runs = [f"arn:aws:states:us-west-2:123456789012:execution:flow:{i}" for i in range(3)]
    for source, run in zip(sources, runs):
        queue(source, run)
    settings = dispatch.CopySettings.from_env()
    report = expire.expire(sources[1]["snapshot"]["id"], runs[1], settings)
    assert report["outcome"] == "reported" and report["Error"] == "CopyDeadlineReached"
    assert all(s["snapshot"]["id"] in report["message"] and run in report["message"]
               for s, run in zip(sources[1:], runs[1:]))
    assert sources[0]["snapshot"]["id"] not in report["message"]          # its copy had started
    late = expire.expire(sources[2]["snapshot"]["id"], runs[2], settings)
    assert late["outcome"] == "elsewhere" and runs[1] in late["Cause"]
    assert expire.expire(sources[0]["snapshot"]["id"], runs[0], settings)["outcome"] == "started"


def test_a_second_reporter_waits_for_the_first(ec2, monkeypatch):
    monkeypatch.setenv("MAX_COPIES", "1")
    source = managed(ec2)
    run = "arn:aws:states:us-west-2:123456789012:execution:flow:one"
    queue(managed(ec2))
    queue(source, run)
    settings = dispatch.CopySettings.from_env()
    Ledger(TABLE, DR).lock("arn:aws:states:us-west-2:123456789012:execution:flow:other")
    with pytest.raises(expire.DeadlineReportBusy):
        expire.expire(source["snapshot"]["id"], run, settings)


@pytest.mark.parametrize("event, problem", [
    ({"token": "t", "execution": "e"}, "input must carry source"),
    ({"source": {"snapshot": {"id": "snap-0123456789abcdef0", "region": REGION}, "volumeId": "vol-1"},
      "token": "t", "execution": "e"}, "source.volumeId must be an EBS volume id"),
    ({"source": {"snapshot": {"id": "../etc", "region": REGION}, "volumeId": "vol-0123456789abcdef0"},
      "token": "t", "execution": "e"}, "source.snapshot must be"),
    ({"source": {"snapshot": {"id": "snap-0123456789abcdef0", "region": REGION}, "volumeId": "vol-0123456789abcdef0"},
      "execution": "e"}, "input must carry token"),
])
def test_copy_refuses_malformed_input_naming_it(ec2, event, problem):
    with pytest.raises(ValueError, match=problem):
        copy.handler(event, None)


def test_copy_refuses_a_dr_region_equal_to_the_source(ec2, monkeypatch):
    monkeypatch.setenv("DR_REGION", REGION)
    with pytest.raises(ValueError, match="must differ"):
        queue(managed(ec2))


def test_a_snapshot_waiting_for_an_execution_that_no_longer_runs_is_taken_over(ec2, monkeypatch):
    monkeypatch.setenv("MAX_COPIES", "1")
    queue(managed(ec2))                                                   # takes the one slot
    source = managed(ec2)
    queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:gone")      # no such execution runs
    rerun = "arn:aws:states:us-west-2:123456789012:execution:flow:rerun"
    assert queue(source, rerun)["answered"] is False                    # it waits in the queue, as the rerun's
    assert entry(source["snapshot"]["id"])["owner"] == rerun and entry(source["snapshot"]["id"])["state"] == "waiting"


def test_a_failure_after_queueing_takes_the_snapshot_out_again(ec2, monkeypatch):
    source = managed(ec2)

    def denied(*args, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeSnapshots")
    monkeypatch.setattr(dispatch, "copies_in_flight", denied)
    with pytest.raises(Exception) as raised:
        copy.handler({"source": source, "token": "t", "execution": "arn:aws:states:us-west-2:1:execution:f:x"}, None)
    assert type(raised.value).__name__ == "AccessDeniedException"       # named for the state machine's Catch
    assert "state" not in entry(source["snapshot"]["id"]) and queued() == 0   # none waits for that execution's token
    monkeypatch.setattr(dispatch, "copies_in_flight", lambda region: 0)
    assert queue(source)["answered"] is True                            # the rerun queues and copies it


def queued() -> int:
    return boto3.resource("dynamodb", region_name=REGION).Table(TABLE).query(
        KeyConditionExpression="pk = :q", ExpressionAttributeValues={":q": f"queue#{DR}"})["Count"]


def test_a_snapshot_claimed_by_one_dispatch_is_not_started_by_another(ec2, monkeypatch):
    monkeypatch.setenv("MAX_COPIES", "1")
    queue(managed(ec2))                                                   # takes the one slot
    source = managed(ec2)
    queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:two")
    ledger = Ledger(TABLE, DR)
    (marker,) = list(ledger.waiting())
    assert ledger.claim(marker) is True and ledger.claim(dict(marker)) is False


def test_a_snapshot_tagged_copied_is_not_copied_again_once_its_entry_expired(ec2):
    """The createSnapshot event delivered again (or the execution rerun) after the ledger kept the entry its
    KEEP_DAYS: the Tag step reads opsflows:dr=copied, and CopyToDR makes no second copy."""
    source = managed(ec2)
    snapshot_id = source["snapshot"]["id"]
    ec2.create_tags(Resources=[snapshot_id], Tags=[{"Key": "opsflows:dr", "Value": "copied"}])   # its copy completed
    again = tag.tag_snapshot(sample_event("ebs-createSnapshot-succeeded",
                                          snapshot_id=f"arn:aws:ec2::{REGION}:snapshot/{snapshot_id}",
                                          source=f"arn:aws:ec2::{REGION}:volume/{source['volumeId']}"), "createSnapshot")
    assert again["dr"] == "copied"
    result = queue(again, "arn:aws:states:us-west-2:123456789012:execution:flow:redelivered")
    assert dr_snapshots() == [] and entry(snapshot_id) == {} and queued() == 0
    assert result == {"copy": None, "reused": True, "reason": f"{snapshot_id} is tagged opsflows:dr=copied"}


def test_a_duplicate_event_while_the_copy_is_being_started_makes_no_second_copy(ec2, monkeypatch):
    """Another execution's dispatch has claimed the snapshot (starting) and not yet recorded its copy: a duplicate
    event's CopyToDR does not queue it again, so the one started copy stays the only one."""
    monkeypatch.setenv("MAX_COPIES", "1")
    queue(managed(ec2))                                                   # takes the one slot
    source = managed(ec2)
    snapshot_id = source["snapshot"]["id"]
    queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:first")
    ledger = Ledger(TABLE, DR)
    (marker,) = list(ledger.waiting())
    assert ledger.claim(marker)                                          # the first's dispatch, mid-start
    free_dr_slots()                                                      # the slot frees meanwhile
    duplicate = queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:duplicate")
    assert dr_snapshots() == [] and queued() == 0
    assert duplicate.get("duplicate") is True and duplicate["state"] == "starting"
    settings = dispatch.CopySettings.from_env()
    dispatch._start(ledger, settings, marker, dispatch.Dispatched(), own=None)   # the first's dispatch goes on
    assert [tags_of(s)["opsflows:source-snapshot"] for s in dr_snapshots()] == [snapshot_id]
    assert entry(snapshot_id)["state"] == "copying" and queued() == 0


def test_a_waiting_snapshot_stays_with_the_running_execution_that_queued_it(ec2, monkeypatch):
    """A duplicate event while the snapshot waits for a slot for a running execution: the duplicate is answered at
    once and the queue keeps the first execution's task token (else the copy answers the duplicate, and the first
    is never answered: it waits out its whole copy deadline)."""
    monkeypatch.setenv("MAX_COPIES", "1")
    monkeypatch.setattr(copy, "running", lambda execution: True)
    queue(managed(ec2))                                                   # takes the one slot
    source = managed(ec2)
    first = "arn:aws:states:us-west-2:123456789012:execution:flow:first"
    queue(source, first)
    duplicate = queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:duplicate")
    (marker,) = list(Ledger(TABLE, DR).waiting())
    assert marker["owner"] == first and marker["token"] == f"token-{first}"
    assert entry(source["snapshot"]["id"])["owner"] == first and len(dr_snapshots()) == 1
    assert duplicate.get("duplicate") is True and duplicate["owner"] == first


def test_copy_refuses_more_copies_in_flight_than_the_dr_region_admits(ec2, monkeypatch):
    """MAX_COPIES above EBS's 20 (not adjustable) is refused before anything is queued or copied."""
    monkeypatch.setenv("MAX_COPIES", "21")
    source = managed(ec2)
    with pytest.raises(ValueError, match="MAX_COPIES must be between 1 and 20"):
        queue(source)
    assert dr_snapshots() == [] and entry(source["snapshot"]["id"]) == {} and queued() == 0


def test_settle_ignores_an_event_of_our_copy_id_outside_the_dr_region(ec2):
    """A copySnapshot event naming the copy opsflows waits for, but in another region than the DR region (a
    misrouted or forged event): it settles nothing; were it a failure, the copy would be made a second time."""
    source = managed(ec2)
    queue(source)
    (made,) = dr_snapshots()
    elsewhere = completed(made["SnapshotId"], source["snapshot"]["id"], "failed", "internal error")
    elsewhere["event"]["detail"]["snapshot_id"] = f"arn:aws:ec2::eu-west-1:snapshot/{made['SnapshotId']}"
    result = settle.handler(elsewhere, None)
    assert entry(source["snapshot"]["id"])["state"] == "copying" and entry(source["snapshot"]["id"])["attempts"] == 0
    assert [s["SnapshotId"] for s in dr_snapshots()] == [made["SnapshotId"]]
    assert result["outcome"] == "ignored"


def test_retention_in_dry_run_writes_nothing_to_the_copy_ledger(ec2, monkeypatch):
    """Dry run changes nothing: a snapshot held for its DR copy gets no retainAfterCopy mark either."""
    from snapshots import retain
    for key, value in {"LEDGER_TABLE": TABLE, "RETAIN": "1", "DRY_RUN": "true"}.items():
        monkeypatch.setenv(key, value)
    vol = ec2.create_volume(Size=8, AvailabilityZone=f"{REGION}a")["VolumeId"]
    made = []
    for _ in range(2):
        snap = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
        tag.tag_snapshot(sample_event("ebs-createSnapshot-succeeded", snapshot_id=f"arn:aws:ec2::{REGION}:snapshot/{snap}",
                                      source=f"arn:aws:ec2::{REGION}:volume/{vol}"), "createSnapshot")
        made.append(snap)
    result = retain.handler({"snapshot": {"id": made[-1], "region": REGION}, "volumeId": vol}, None)
    assert result["heldForDR"] == [made[0]] and result["deleted"] == []
    assert entry(made[0]) == {}
    assert len(ec2.describe_snapshots(SnapshotIds=made)["Snapshots"]) == 2


def free_dr_slots() -> None:
    """The copies in flight into DR end (deleted): their slots are free for the next dispatch."""
    for pending in dr_snapshots():
        boto3.client("ec2", region_name=DR).delete_snapshot(SnapshotId=pending["SnapshotId"])


def stale_first_read(monkeypatch, stale: dict | None) -> None:
    """CopyToDR's first read of the ledger entry returns `stale`, as it would for an execution that read it just
    before another changed it (the local cloud runs one Lambda at a time: the race is set up by hand)."""
    real, reads = Ledger.entry, []

    def entry_once_stale(self, snapshot_id):
        reads.append(snapshot_id)
        return stale if len(reads) == 1 else real(self, snapshot_id)
    monkeypatch.setattr(Ledger, "entry", entry_once_stale)


def test_an_execution_that_read_no_entry_before_another_queued_the_snapshot_makes_no_second_copy(ec2, monkeypatch):
    """Two executions of one snapshot (a duplicate event) both read no ledger entry: the second's queueing is refused
    by its condition, it reads again and finds the copy started."""
    source = managed(ec2)
    snapshot_id = source["snapshot"]["id"]
    queue(source)                                                         # the first execution: its copy started
    stale_first_read(monkeypatch, None)                                  # the duplicate read before it wrote
    queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:duplicate")
    assert [tags_of(s)["opsflows:source-snapshot"] for s in dr_snapshots()] == [snapshot_id]
    assert entry(snapshot_id)["state"] == "copying" and queued() == 0


def test_taking_over_a_waiting_snapshot_whose_copy_started_meanwhile_makes_no_second_copy(ec2, monkeypatch):
    """A rerun read the snapshot waiting for an execution that no longer runs, and a dispatch started its copy before
    the rerun queued it again: the rerun's queueing is refused (the entry changed since it read it)."""
    monkeypatch.setenv("MAX_COPIES", "1")
    queue(managed(ec2))                                                   # takes the one slot
    source = managed(ec2)
    snapshot_id = source["snapshot"]["id"]
    queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:gone")       # no such execution runs
    ledger = Ledger(TABLE, DR)
    stale = ledger.entry(snapshot_id)                                     # waiting, for the execution gone
    free_dr_slots()                                                      # the slot frees: its copy starts
    assert dispatch.dispatch(ledger, dispatch.CopySettings.from_env()).started == [snapshot_id]
    monkeypatch.setenv("MAX_COPIES", "20")
    stale_first_read(monkeypatch, stale)                                 # a rerun read it just before
    queue(source, "arn:aws:states:us-west-2:123456789012:execution:flow:rerun")
    assert [tags_of(s)["opsflows:source-snapshot"] for s in dr_snapshots()] == [snapshot_id]
    assert entry(snapshot_id)["state"] == "copying" and queued() == 0
