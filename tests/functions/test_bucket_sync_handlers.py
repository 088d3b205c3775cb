"""Bucket sync handlers against moto: validation, the scan (requests counted), copies that keep metadata, tags
and ETags (multipart too), refused and failed copies, guarded deletes."""
from __future__ import annotations

import json
from collections import Counter

import boto3
import pytest
from moto import mock_aws

from bucket_sync import copy, delete, scan, validate
from bucket_sync.model import BucketNotAllowed, BucketNotFound, InvalidSyncInput, OverlappingLocations, SyncRequest
from bucket_sync.s3 import copy_client, s3 as sync_client
from bucket_sync.state import ScanState, TooManyDeletes
from localcloud import patches
from localcloud.scenarios.bucket_sync import seed

REGION, OTHER = "us-west-2", "us-east-2"
MIB = 1024**2
STATE = "sync-state"


@pytest.fixture
def aws(monkeypatch):
    patches.apply_all()
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("STATE_BUCKET", STATE)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket, region in (("src", OTHER), ("dst", REGION), (STATE, REGION)):
            boto3.client("s3", region_name=region).create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        yield s3


@pytest.fixture
def requests():
    """S3 requests the handlers make, per operation (counted on the handlers' own clients)."""
    counted: Counter = Counter()

    def count(model, **_):
        counted[model.name] += 1
    clients = [make(region) for region in (REGION, OTHER) for make in (sync_client, copy_client)]
    for c in clients:
        c.meta.events.register("before-call.s3.*", count)
    yield counted
    for c in clients:
        c.meta.events.unregister("before-call.s3.*", count)


def request(**kw) -> SyncRequest:
    return SyncRequest.from_json(validate.validate({"source": "src", "destination": "dst", **kw}, "run-1",
                                                   {"src", "dst"})["request"])


def keys(s3, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def run_scans(req: SyncRequest, pages: int = 1000, batch: int = 1000) -> ScanState:
    state = ScanState(run="run-1")
    while True:
        state = scan.scan(req, state, [], pages_per_scan=pages, batch_objects=batch)
        if state.phase in ("delete", "done"):
            return state


def test_validate_finds_regions_and_refuses_before_any_write(aws):
    out = validate.validate({"source": "src", "destination": "dst/copy/"}, "exec name!", {"src", "dst"})
    assert out["request"]["source"]["region"] == OTHER and out["request"]["destination"]["region"] == REGION
    assert out["request"]["destination"]["prefix"] == "copy/" and out["scan"]["run"] == "exec-name-"
    with pytest.raises(BucketNotFound, match="'gone' does not exist"):
        validate.validate({"source": "src", "destination": "gone"}, "r", {"src", "gone"})
    with pytest.raises(OverlappingLocations):
        validate.validate({"source": "dst/a", "destination": "dst/a/b"}, "r", {"dst"})
    assert keys(aws, STATE) == []


def test_a_continuation_is_checked_again_and_reuses_the_regions_found(aws, requests):
    first = validate.validate({"source": "src", "destination": "dst"}, "run", {"src", "dst"})
    carried = {"continuation": {"input": first["input"], "request": first["request"], "scan": first["scan"],
                                "copyResults": [{"copied": 1}]}}
    requests.clear()
    again = validate.validate(carried, "run-c000001", {"src", "dst"})
    assert again["request"] == first["request"] and again["scan"]["run"] == "run" and requests == {}
    assert again["copyResults"] == [{"copied": 1}]
    with pytest.raises(BucketNotAllowed):                  # the allowlist is applied again
        validate.validate(carried, "run-c000001", {"src"})
    with pytest.raises(InvalidSyncInput):
        validate.validate({**carried, "source": "src"}, "x", {"src", "dst"})


def test_scan_classifies_from_listings_alone_at_the_lower_bound(aws, requests):
    seed("src", ((f"k{i:05d}", b"x") for i in range(1100)))
    seed("dst", ((f"k{i:05d}", b"x") for i in range(0, 1100, 2)))        # unchanged
    seed("dst", {"k00001": b"stale"})                                    # changed (size)
    seed("dst", ((f"orphan/{i}", b"o") for i in range(30)))
    req = request()
    requests.clear()

    state = run_scans(req)
    c = state.counts
    assert (c.listedSource, c.listedDestination, c.toCopy, c.skippedUnchanged, c.orphans) == (1100, 581, 550, 550, 30)
    # ceil(1100/1000) + ceil(581/1000) pages; one copy batch manifest, one orphan manifest
    assert requests == {"ListObjectsV2": 2 + 1, "PutObject": 2}
    copies = [json.loads(aws.get_object(Bucket=STATE, Key=f"runs/run-1/copy/000000/000{n}.json")["Body"].read())
              for n in range(1)]
    assert sum(len(b["items"]) for b in copies) == 550 and copies[0]["source"]["bucket"] == "src"
    orphans = json.loads(aws.get_object(Bucket=STATE, Key="runs/run-1/orphans/000000.json")["Body"].read())
    assert orphans["destination"]["bucket"] == "dst" and len(orphans["keys"]) == 30
    assert state.phase == "delete" and state.result["deleted"] == 30


def test_scan_in_small_steps_lists_each_page_about_once(aws, requests):
    seed("src", ((f"k{i:05d}", b"x") for i in range(1200)))
    seed("dst", ((f"k{i:05d}", b"x") for i in range(200, 1400)))
    req = request(dryRun=True)
    requests.clear()
    state, scans = ScanState(run="run-1"), 0
    while state.phase not in ("delete", "done"):
        state, scans = scan.scan(req, state, [], pages_per_scan=1, batch_objects=1000), scans + 1
    assert (state.counts.toCopy, state.counts.orphans, state.counts.skippedUnchanged) == (200, 200, 1000)
    assert scans >= 2 and requests["ListObjectsV2"] <= 2 + 2 + scans   # lower bound + at most a page a scan
    assert requests["PutObject"] == 0 and keys(aws, STATE) == []  # dry run writes nothing, not even manifests
    assert state.result["wouldCopy"] == 200 and state.result["wouldDelete"] == 200


def test_max_deletes_refuses_before_any_delete(aws):
    for i in range(3):
        aws.put_object(Bucket="dst", Key=f"o{i}", Body=b"o")
    with pytest.raises(TooManyDeletes, match="would delete 3 orphan"):
        run_scans(request(maxDeletes=2))
    assert keys(aws, "dst") == ["o0", "o1", "o2"]


def test_copy_keeps_metadata_content_type_and_tags(aws):
    aws.put_object(Bucket="src", Key="a b+c%d?é", Body=b"hello", ContentType="text/plain",
                   Metadata={"owner": "web"}, Tagging="team=blue&tier=1", CacheControl="max-age=60")
    aws.put_object(Bucket="src", Key="empty", Body=b"")
    etags = {k: aws.head_object(Bucket="src", Key=k)["ETag"].strip('"') for k in ("a b+c%d?é", "empty")}
    out = copy.copy_batch(request(), [[k, 5 if k != "empty" else 0, etags[k], 0] for k in etags],
                          threshold=5 * MIB, part_size=5 * MIB)
    assert out == {"copied": 2, "bytes": 5, "skipped": 0, "failed": 0, "notAttempted": 0, "stale": 0, "failures": []}
    head = aws.head_object(Bucket="dst", Key="a b+c%d?é")
    assert (head["ContentType"], head["Metadata"], head["CacheControl"]) == ("text/plain", {"owner": "web"},
                                                                           "max-age=60")
    assert head["ETag"].strip('"') == etags["a b+c%d?é"]
    tags = aws.get_object_tagging(Bucket="dst", Key="a b+c%d?é")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "blue", "tier": "1"}


def multipart_source(s3, key: str, parts: list[int]) -> str:
    upload = s3.create_multipart_upload(Bucket="src", Key=key, ContentType="video/mp4", Metadata={"take": "2"},
                                        Tagging="kind=raw")["UploadId"]
    done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket="src", Key=key, UploadId=upload, PartNumber=n,
                                                     Body=bytes([n]) * size)["ETag"]}
            for n, size in enumerate(parts, start=1)]
    return s3.complete_multipart_upload(Bucket="src", Key=key, UploadId=upload,
                                        MultipartUpload={"Parts": done})["ETag"].strip('"')


def test_multipart_source_is_copied_in_its_own_layout_so_the_etag_matches(aws, requests):
    etag = multipart_source(aws, "video", [5 * MIB, 5 * MIB, 1 * MIB])
    req = request()
    requests.clear()
    out = copy.copy_batch(req, [["video", 11 * MIB, etag, 0]], threshold=5 * 1024**3, part_size=8 * MIB)
    assert out["copied"] == 1
    head = aws.head_object(Bucket="dst", Key="video")
    assert head["ETag"].strip('"') == etag and head["ContentType"] == "video/mp4"
    assert head["Metadata"]["take"] == "2"
    assert aws.get_object_tagging(Bucket="dst", Key="video")["TagSet"] == [{"Key": "kind", "Value": "raw"}]
    assert requests["UploadPartCopy"] == 3 and requests["HeadObject"] == 1 and requests["CopyObject"] == 0
    assert aws.list_multipart_uploads(Bucket="dst").get("Uploads", []) == []


def test_single_part_source_over_the_threshold_records_its_etag_and_is_not_copied_again(aws, requests):
    aws.put_object(Bucket="src", Key="big", Body=b"z" * (6 * MIB))
    etag = aws.head_object(Bucket="src", Key="big")["ETag"].strip('"')
    copy.copy_batch(request(), [["big", 6 * MIB, etag, 0]], threshold=5 * MIB, part_size=5 * MIB)
    head = aws.head_object(Bucket="dst", Key="big")
    assert head["ETag"].strip('"') != etag and head["Metadata"][copy.SOURCE_ETAG] == etag

    state = scan.scan(request(), ScanState(run="run-1"), [], pages_per_scan=1000, batch_objects=1000)
    assert state.counts.toCopy == 1                               # the merge marks it "verify" ...
    manifest = json.loads(aws.get_object(Bucket=STATE, Key=state.batches[0])["Body"].read())
    req = request()
    requests.clear()
    out = copy.copy_batch(req, manifest["items"], threshold=5 * MIB, part_size=5 * MIB)
    assert out["skipped"] == 1 and out["copied"] == 0             # ... and one HEAD settles it
    assert requests == {"HeadObject": 1}


def test_copy_refuses_a_manifest_listed_for_another_source(aws):
    aws.put_object(Bucket="src", Key="k", Body=b"v")
    etag = aws.head_object(Bucket="src", Key="k")["ETag"].strip('"')
    aws.put_object(Bucket=STATE, Key="runs/r/copy/000000/0000.json", Body=json.dumps(
        {"source": {"bucket": "other", "prefix": ""}, "items": [["k", 1, etag, 0]]}))
    with pytest.raises(ValueError, match="is not for the source s3://src/"):
        copy.handler({"request": request().to_json(), "manifest": "runs/r/copy/000000/0000.json"}, None)
    assert keys(aws, "dst") == [] and keys(aws, "src") == ["k"]


def test_a_source_changed_since_listing_is_a_failed_copy(aws):
    aws.put_object(Bucket="src", Key="k", Body=b"v1")
    listed = aws.head_object(Bucket="src", Key="k")["ETag"].strip('"')
    aws.put_object(Bucket="src", Key="k", Body=b"v2")
    out = copy.copy_batch(request(), [["k", 2, listed, 0], ["gone", 1, "abc", 0]], threshold=5 * MIB,
                          part_size=5 * MIB)
    assert out["copied"] == 0 and out["failed"] == 2
    assert sorted(out["failures"]) == ["gone: NoSuchKey", "k: PreconditionFailed"]
    assert keys(aws, "dst") == []


def test_access_denied_stops_the_batch(aws, monkeypatch):
    seed("src", ((f"k{i}", b"x") for i in range(20)))
    etag = aws.head_object(Bucket="src", Key="k0")["ETag"].strip('"')
    monkeypatch.setattr(copy, "OBJECT_THREADS", 1)
    client = copy_client(REGION)

    def deny(params, **_):
        from botocore.exceptions import ClientError
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "CopyObject")
    client.meta.events.register("before-call.s3.CopyObject", deny)
    try:
        out = copy.copy_batch(request(), [[f"k{i}", 1, etag, 0] for i in range(20)], threshold=5 * MIB,
                              part_size=5 * MIB)
    finally:
        client.meta.events.unregister("before-call.s3.CopyObject", deny)
    assert out["fatal"]["code"] == "AccessDenied" and out["notAttempted"] == 20 and out["copied"] == 0


def test_delete_uses_batches_of_1000_and_refuses_foreign_manifests(aws, requests):
    seed("dst", ((f"o{i:05d}", b"o") for i in range(2100)))
    aws.put_object(Bucket="dst", Key="keep", Body=b"k")
    body = {"destination": {"bucket": "dst", "prefix": ""}, "keys": [f"o{i:05d}" for i in range(2100)]}
    aws.put_object(Bucket=STATE, Key="runs/r/orphans/000000.json", Body=json.dumps(body))
    req = request()
    requests.clear()
    assert delete.delete_orphans(req, "runs/r/orphans/000000.json") == {"deleted": 2100}
    assert requests["DeleteObjects"] == 3 and keys(aws, "dst") == ["keep"]

    aws.put_object(Bucket=STATE, Key="runs/r/orphans/000001.json", Body=json.dumps(
        {"destination": {"bucket": "src", "prefix": ""}, "keys": ["keep"]}))
    with pytest.raises(delete.RefusedDelete, match="not of s3://dst/"):
        delete.delete_orphans(request(), "runs/r/orphans/000001.json")
    assert keys(aws, "dst") == ["keep"]


def test_delete_refuses_keys_inside_the_source_even_for_a_request_that_got_past_validation(aws):
    aws.put_object(Bucket="dst", Key="live/page", Body=b"p")
    from bucket_sync.model import Location
    crossed = SyncRequest(Location("dst", "live/", REGION), Location("dst", "", REGION))    # never validated
    aws.put_object(Bucket=STATE, Key="runs/r/orphans/000009.json", Body=json.dumps(
        {"destination": {"bucket": "dst", "prefix": ""}, "keys": ["live/page"]}))
    with pytest.raises(delete.RefusedDelete, match="inside the source"):
        delete.delete_orphans(crossed, "runs/r/orphans/000009.json")
    assert keys(aws, "dst") == ["live/page"]
