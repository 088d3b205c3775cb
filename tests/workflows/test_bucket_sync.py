"""Bucket sync end to end in the local cloud: the deployed state machine run on real buckets; S3 state, outputs,
alerts and request counts checked. One deployment serves the module (small budgets so that a sync of ~1,000
objects already takes several scans, copy batches and a continuation execution)."""
from __future__ import annotations


import pytest

from localcloud import LocalCloud
from localcloud.scenarios.bucket_sync import body, keys, make_bucket, put_inventory, seed

HOME, EAST = "us-west-2", "us-east-2"
MIB = 1024**2
POOL = [f"opsflows-sync-{i}" for i in range(40)]
MISSING = "opsflows-sync-never-made"
OUTSIDE = "opsflows-outside-the-allowlist"         # exists and holds data, but is not in allowedBuckets
CONFIG = {"opsflows:bucketSync": {"allowedBuckets": [*POOL, MISSING], "multipartThresholdBytes": 5 * MIB,
                                  "partSizeBytes": 5 * MIB, "pagesPerScan": 1, "scansPerExecution": 2,
                                  "batchObjects": 100, "maxConcurrency": 4}}
HISTORY_LIMIT = 25_000


class Sync:
    """The deployed workflow and buckets in the user's terms."""

    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        self.machine = cloud.deploy("primary", config=CONFIG).outputs["bucketSyncStateMachineArn"]
        self.s3 = cloud.client("s3", HOME)
        self._names = iter(POOL)

    def bucket(self, region: str = HOME) -> str:
        name = next(self._names)
        make_bucket(self.cloud, name, region)
        return name

    def run(self, **execution_input) -> dict:
        arn = self.cloud.start(self.machine, execution_input)
        self.cloud.run_until_idle(timeout=300)
        return self.cloud.execution(arn)

    def alerts(self, execution: dict) -> list[dict]:
        return [a for a in self.cloud.alerts() if execution["arn"] in a["message"]]

    def s3_calls(self) -> dict[str, int]:
        return {k[3:]: v for k, v in self.cloud.metrics.api_calls.items() if k.startswith("s3.")}


@pytest.fixture(scope="module")
def deployed():
    with LocalCloud() as cloud:
        yield Sync(cloud)


@pytest.fixture
def sync(deployed):
    deployed.cloud.metrics.reset()
    yield deployed
    deployed.cloud.clear_errors()


ODD_KEYS = ["with space.txt", "ünïcødé/日本語.txt", "plus+sign", "per%cent", "question?mark", "x" * 1024,
            "empty-file"]


def test_sync_across_regions_and_pages_then_a_rerun_that_copies_nothing(sync):
    source, destination = sync.bucket(EAST), sync.bucket()
    same = [(f"bulk/{i:04d}", b"same") for i in range(1000)]
    seed(source, same)
    seed(destination, same)                                        # identical: listed, never copied
    seed(source, {k: (b"" if k == "empty-file" else k.encode()[:50]) for k in ODD_KEYS})
    seed(source, {"stale.txt": b"new content"})
    seed(destination, {"stale.txt": b"old", "orphan/a": b"1", "orphan/b": b"2", "zz-orphan": b"3"})

    first = sync.run(source=source, destination=destination)

    assert first["status"] == "SUCCEEDED", first["cause"]
    out = first["output"]
    assert (out["listedSource"], out["listedDestination"]) == (1008, 1004)
    assert (out["copied"], out["skippedUnchanged"], out["deleted"], out["failed"]) == (8, 1000, 3, 0)
    assert out["bytesCopied"] == sum(len(body(sync.cloud, source, k)) for k in [*ODD_KEYS, "stale.txt"])
    assert keys(sync.cloud, destination) == keys(sync.cloud, source, EAST)
    for key in [*ODD_KEYS, "stale.txt"]:
        assert body(sync.cloud, destination, key) == body(sync.cloud, source, key)
    calls = sync.s3_calls()
    assert calls["CopyObject"] == 8 and calls["DeleteObjects"] == 1 and "HeadObject" not in calls
    assert calls["HeadBucket"] == 2                                 # once a run, not once an execution

    runs = sync.cloud.executions(sync.machine)[-2:]                 # the run continued as a new execution
    assert [r["status"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"] and runs[1]["input"].get("continuation")
    assert runs[1]["output"] == out and max(len(r["history"]) for r in runs) < HISTORY_LIMIT // 100
    assert sync.alerts(first) == []

    sync.cloud.metrics.reset()
    second = sync.run(source=source, destination=destination)
    assert second["status"] == "SUCCEEDED"
    assert (second["output"]["copied"], second["output"]["deleted"], second["output"]["skippedUnchanged"]) == \
        (0, 0, 1008)
    calls = sync.s3_calls()
    assert set(calls) == {"HeadBucket", "ListObjectsV2"} and calls["HeadBucket"] == 2
    assert calls["ListObjectsV2"] == 2 + 2                         # ceil(1008/1000) + ceil(1004/1000)


def test_prefix_and_same_bucket_with_separate_prefixes(sync):
    source, destination = sync.bucket(), sync.bucket()
    seed(source, {"site/a.html": b"a", "site/b/c.html": b"c", "other/x": b"x"})
    seed(destination, {"site/old.html": b"o", "keep/me": b"k"})
    run = sync.run(source=source, destination=destination, prefix="site/")
    assert run["status"] == "SUCCEEDED", run["cause"]
    assert keys(sync.cloud, destination) == ["keep/me", "site/a.html", "site/b/c.html"]    # outside: untouched

    shared = sync.bucket()
    seed(shared, {"staging/a": b"new", "staging/b": b"b", "prod/a": b"old", "prod/z": b"orphan", "root": b"r"})
    run = sync.run(source=f"{shared}/staging/", destination=f"{shared}/prod/")
    assert run["status"] == "SUCCEEDED", run["cause"]
    assert keys(sync.cloud, shared) == ["prod/a", "prod/b", "root", "staging/a", "staging/b"]
    assert body(sync.cloud, shared, "prod/a") == b"new" and body(sync.cloud, shared, "staging/a") == b"new"


def test_dry_run_changes_nothing_and_reports_what_it_would_do(sync):
    source, destination = sync.bucket(), sync.bucket()
    seed(source, {"new": b"n", "changed": b"v2", "same": b"s"})
    seed(destination, {"changed": b"v1!", "same": b"s", "orphan": b"o"})
    run = sync.run(source=source, destination=destination, dryRun=True)
    assert run["status"] == "SUCCEEDED"
    out = run["output"]
    assert (out["wouldCopy"], out["wouldDelete"], out["copied"], out["deleted"], out["skippedUnchanged"]) == \
        (2, 1, 0, 0, 1)
    assert out["sample"] == {"copy": ["changed", "new"], "delete": ["orphan"]}
    assert keys(sync.cloud, destination) == ["changed", "orphan", "same"]
    assert body(sync.cloud, destination, "changed") == b"v1!"
    assert set(sync.s3_calls()) == {"HeadBucket", "ListObjectsV2"}         # not even a manifest written


@pytest.mark.parametrize("make_input, error, words", [
    (lambda a, b: {"source": a, "destination": a}, "OverlappingLocations", "are the same location"),
    (lambda a, b: {"source": f"{a}/x/", "destination": f"{a}/x/y/"}, "OverlappingLocations", "overlapping"),
    (lambda a, b: {"source": f"{a}/x/", "destination": a}, "OverlappingLocations", "overlapping"),  # dst holds src
    (lambda a, b: {"source": a, "destination": MISSING}, "BucketNotFound", "does not exist"),
    (lambda a, b: {"source": a, "destination": "not-allowed-bucket"}, "BucketNotAllowed", "allowedBuckets"),
    (lambda a, b: {"source": a, "destination": b, "deleteorphans": False}, "InvalidSyncInput", "unknown input"),
])
def test_refused_input_fails_with_one_alert_naming_the_problem(sync, make_input, error, words):
    source, destination = sync.bucket(), sync.bucket()
    seed(source, {"a": b"a"})
    run = sync.run(**make_input(source, destination))
    assert run["status"] == "FAILED" and run["error"] == error
    (alert,) = sync.alerts(run)
    assert alert["attributes"]["error"] == error and words in alert["message"]
    assert keys(sync.cloud, source) == ["a"] and keys(sync.cloud, destination) == []
    assert not {"CopyObject", "PutObject", "DeleteObjects"} & set(sync.s3_calls())


@pytest.fixture
def outside(sync):
    if OUTSIDE not in {b["Name"] for b in sync.s3.list_buckets()["Buckets"]}:
        make_bucket(sync.cloud, OUTSIDE)
        seed(OUTSIDE, {"private": b"not for this workflow"})
    return OUTSIDE


@pytest.mark.parametrize("role", ["source", "sourceInventory"])
def test_a_bucket_outside_the_allowlist_is_refused_as_source_or_inventory_and_nothing_moves(sync, outside, role):
    source, destination = sync.bucket(), sync.bucket()
    seed(source, {"a": b"a"})
    seed(destination, {"orphan": b"o"})
    if role == "source":
        execution_input = {"source": outside, "destination": destination}
    else:       # a valid report of the source, but kept in a bucket the workflow may not read
        execution_input = {"source": source, "destination": destination,
                           "sourceInventory": put_inventory(sync.cloud, outside, source)}
    run = sync.run(**execution_input)
    assert run["status"] == "FAILED" and run["error"] == "BucketNotAllowed"
    (alert,) = sync.alerts(run)
    assert f"{role} bucket {outside!r} is not in" in alert["message"]
    assert keys(sync.cloud, destination) == ["orphan"] and keys(sync.cloud, source) == ["a"]
    assert not {"GetObject", "CopyObject", "PutObject", "DeleteObjects"} & set(sync.s3_calls())


def test_delete_orphans_false_copies_and_keeps_every_orphan(sync):
    source, destination = sync.bucket(), sync.bucket()
    seed(source, {"new": b"n", "same": b"s"})
    seed(destination, {"same": b"s", "orphan/a": b"1", "zz-orphan": b"2"})
    run = sync.run(source=source, destination=destination, deleteOrphans=False)
    assert run["status"] == "SUCCEEDED", run["cause"]
    assert keys(sync.cloud, destination) == ["new", "orphan/a", "same", "zz-orphan"]
    out = run["output"]
    assert (out["copied"], out["orphans"], out["deleted"]) == (1, 2, 0)
    assert "DeleteObjects" not in sync.s3_calls() and sync.alerts(run) == []


def test_a_failure_in_the_continuation_ends_the_run_failed_with_exactly_one_alert(sync):
    """sourceInventory reaches scansPerExecution (2) in one small run: Scan (index) -> Scan (copy) -> continue as
    new; the continuation's first Scan counts the denied copies and fails. It alerted: the parent must not."""
    source, destination, reports = sync.bucket(), sync.bucket(), sync.bucket()
    seed(source, {"a": b"a", "b": b"b"})
    seed(destination, {"orphan": b"o"})
    manifest = put_inventory(sync.cloud, reports, source)
    sync.cloud.inject_error("s3", "CopyObject", "AccessDenied", when=lambda p: p.get("Bucket") == destination)
    alerts_before = len(sync.cloud.alerts())

    run = sync.run(source=source, destination=destination, sourceInventory=manifest)

    (continuation,) = [e for e in sync.cloud.executions(sync.machine) if isinstance(e["input"], dict)
                       and e["input"].get("continuation", {}).get("input", {}).get("source") == source]
    (alert,) = sync.cloud.alerts()[alerts_before:]
    assert continuation["arn"] in alert["message"] and "nothing was deleted" in alert["message"]
    assert (run["status"], run["error"]) == ("FAILED", "AccessDenied")
    assert (continuation["status"], continuation["error"]) == ("FAILED", "AccessDenied")
    assert keys(sync.cloud, destination) == ["orphan"] and keys(sync.cloud, source) == ["a", "b"]


def test_access_denied_on_the_destination_fails_and_deletes_nothing(sync):
    source, destination = sync.bucket(), sync.bucket()
    seed(source, {f"k{i}": b"x" for i in range(250)})
    seed(destination, {"orphan": b"o"})
    sync.cloud.inject_error("s3", "CopyObject", "AccessDenied", when=lambda p: p.get("Bucket") == destination)
    run = sync.run(source=source, destination=destination)
    assert run["status"] == "FAILED" and run["error"] == "AccessDenied"
    (alert,) = sync.alerts(run)
    assert "AccessDenied" in alert["message"] and "nothing was deleted" in alert["message"]
    assert keys(sync.cloud, destination) == ["orphan"]
    assert keys(sync.cloud, source) == [f"k{i}" for i in sorted(range(250), key=str)]
    assert sync.s3_calls()["CopyObject"] <= 3 * 4                   # each batch stops at its first denial


def test_too_many_orphans_fails_before_deleting_and_says_how_many(sync):
    source, destination = sync.bucket(), sync.bucket()
    seed(source, {"a": b"a"})
    seed(destination, {f"orphan{i}": b"o" for i in range(3)})
    run = sync.run(source=source, destination=destination, maxDeletes=2)
    assert run["status"] == "FAILED" and run["error"] == "TooManyDeletes"
    (alert,) = sync.alerts(run)
    assert "would delete 3 orphan(s)" in alert["message"] and "maxDeletes (2)" in alert["message"]
    assert keys(sync.cloud, destination) == ["a", "orphan0", "orphan1", "orphan2"]


def test_multipart_sized_objects_are_copied_by_parts_and_not_again(sync):
    source, destination = sync.bucket(), sync.bucket()
    upload = sync.s3.create_multipart_upload(Bucket=source, Key="video.mp4", ContentType="video/mp4",
                                             Metadata={"camera": "b"})["UploadId"]
    parts = [{"PartNumber": n, "ETag": sync.s3.upload_part(Bucket=source, Key="video.mp4", UploadId=upload,
                                                            PartNumber=n, Body=bytes([n]) * size)["ETag"]}
             for n, size in ((1, 5 * MIB), (2, 2 * MIB))]
    sync.s3.complete_multipart_upload(Bucket=source, Key="video.mp4", UploadId=upload,
                                      MultipartUpload={"Parts": parts})
    sync.s3.put_object(Bucket=source, Key="single.bin", Body=b"s" * (6 * MIB), Tagging="keep=yes")

    first = sync.run(source=source, destination=destination)
    assert first["status"] == "SUCCEEDED", first["cause"]
    calls = sync.s3_calls()
    assert calls["UploadPartCopy"] == 2 + 2 and "CopyObject" not in calls     # 5+2 MiB; 5+1 MiB
    video_src, video_dst = (sync.s3.head_object(Bucket=b, Key="video.mp4") for b in (source, destination))
    assert video_dst["ETag"] == video_src["ETag"] and video_dst["ContentType"] == "video/mp4"
    assert video_dst["Metadata"]["camera"] == "b"
    assert sync.s3.get_object_tagging(Bucket=destination, Key="single.bin")["TagSet"] == [
        {"Key": "keep", "Value": "yes"}]
    assert body(sync.cloud, destination, "single.bin") == b"s" * (6 * MIB)

    sync.cloud.metrics.reset()
    second = sync.run(source=source, destination=destination)
    assert second["status"] == "SUCCEEDED" and second["output"]["copied"] == 0
    assert second["output"]["skippedUnchanged"] == 2
    calls = sync.s3_calls()
    assert calls.get("HeadObject") == 1 and not {"CopyObject", "UploadPartCopy"} & set(calls)
