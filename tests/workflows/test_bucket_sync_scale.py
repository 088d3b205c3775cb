"""Bucket sync at scale in the local cloud: parallel listing of skewed keys (a hot prefix, keys without '/',
unicode, keys differing in their last character), the same classification whatever the parallelism, the request
bound, and a source read from an S3 Inventory report (CSV and Parquet). One deployment with a large
listingParallelism serves the module. That any cut of the key space classifies every key as one range does is
tests/unit/test_bucket_sync_logic.py (ranges cut at random points, keys at the cuts); the 20,000+ object sync at
parallelism 1, 32 and 256 is bench/bucket_listing.py (a local-cloud LIST of 1,000 keys takes ~0.3 s here)."""
from __future__ import annotations

import json

import pytest

from localcloud import LocalCloud
from localcloud.scenarios.bucket_sync import keys, make_bucket, put_inventory, seed

POOL = [f"opsflows-scale-{i}" for i in range(24)]
CONFIG = {"opsflows:bucketSync": {"allowedBuckets": POOL, "listingParallelism": 256}}


def skewed(n: int) -> list[str]:
    hot = n * 9 // 10
    return ([f"hot/{i:06d}" for i in range(hot)]                      # 90% under one prefix
            + [f"k{i:05d}" for i in range(n - hot - 150)]             # no '/'
            + ["\u00fc/" + chr(0x4E00 + i) for i in range(50)]        # unicode
            + [f"same{chr(33 + i)}" for i in range(50)]                # differing only in the last character
            + [f"zz{chr(0x7F + i)}" for i in range(50)])               # DEL and above: UTF-8 order, not UTF-16


class Scale:
    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        self.machine = cloud.deploy("primary", config=CONFIG).outputs["bucketSyncStateMachineArn"]
        self._names = iter(POOL)

    def bucket(self) -> str:
        name = next(self._names)
        make_bucket(self.cloud, name)
        return name

    def run(self, **execution_input) -> dict:
        self.cloud.metrics.reset()
        arn = self.cloud.start(self.machine, execution_input)
        self.cloud.run_until_idle(timeout=300)
        return self.cloud.execution(arn)

    def calls(self, operation: str) -> int:
        return self.cloud.metrics.api_calls.get(f"s3.{operation}", 0)


@pytest.fixture(scope="module")
def scale():
    with LocalCloud() as cloud:
        yield Scale(cloud)


def test_skewed_keys_listed_in_parallel_end_equal_to_the_source_within_the_request_bound(scale):
    source, destination = scale.bucket(), scale.bucket()
    names = skewed(5000)
    seed(source, ((k, b"v2" if i % 250 == 0 else b"v1") for i, k in enumerate(names)))
    seed(destination, ((k, b"v1") for k in names[:-60]))              # changed, missing ...
    seed(destination, {"hot/000000~": b"orphan", "k": b"orphan"})      # ... and orphans at range edges

    run = scale.run(source=source, destination=destination)

    assert run["status"] == "SUCCEEDED", run["cause"]
    out = run["output"]
    assert keys(scale.cloud, destination) == keys(scale.cloud, source)
    assert (out["copied"], out["deleted"], out["failed"]) == (60 + 20, 2, 0)
    assert out["listing"]["ranges"] > 1 and out["listing"]["widest"] > 1          # it fanned out
    pages = 5 + 5                                                                   # ceil(5000/1000) + ceil(4942/1000)
    lower = pages + out["copied"] + 1
    total = out["listing"]["requests"] + scale.calls("CopyObject") + scale.calls("DeleteObjects")
    assert out["listing"]["requests"] <= scale.calls("ListObjectsV2")              # the counted requests agree
    assert total <= 1.05 * lower + 10, (total, lower)
    assert len(run["history"]) < 500


def test_a_small_bucket_costs_one_list_a_bucket_whatever_the_parallelism(scale):
    source, destination = scale.bucket(), scale.bucket()
    seed(source, {f"{i}": b"x" for i in range(5)})
    seed(destination, {f"{i}": b"x" for i in range(5)})
    run = scale.run(source=source, destination=destination)
    assert run["output"]["copied"] == 0 and run["output"]["listing"]["ranges"] == 1
    assert {k: v for k, v in scale.cloud.metrics.api_calls.items() if k.startswith("s3.")} == {
        "s3.HeadBucket": 2, "s3.ListObjectsV2": 2}


@pytest.mark.parametrize("fmt", ["CSV", "Parquet"])
def test_a_source_read_from_an_inventory_report(scale, fmt):
    source, destination, reports = scale.bucket(), scale.bucket(), scale.bucket()
    names = ["a b+c%d.txt", "\u00fcber/\u65e5\u672c", *(f"k{i:03d}" for i in range(60))]
    seed(source, ((k, k.encode()) for k in names))
    seed(destination, {"k000": b"stale", "orphan": b"o", "newer": b"old copy"})
    seed(source, {"newer": b"written after the report"})                     # the report does not know it
    manifest = put_inventory(scale.cloud, reports, source, fmt, leave_out=["newer"])
    listed: list[str] = []
    scale.cloud.inject_error("s3", "ListObjectsV2", "Never", when=lambda p: listed.append(p["Bucket"]) and False)

    run = scale.run(source=source, destination=destination, sourceInventory=manifest)
    scale.cloud.clear_errors()

    assert run["status"] == "SUCCEEDED", run["cause"]
    out = run["output"]
    assert (out["copied"], out["deleted"], out["staleSinceInventory"]) == (len(names), 1, 1)
    assert keys(scale.cloud, destination) == sorted([*names, "newer"])         # the newer one is kept
    assert source not in listed and listed.count(destination) == 1       # the source is never listed
    assert scale.calls("HeadObject") == 2                    # each orphan candidate is looked up at the source once


def test_an_orphan_candidate_the_source_cannot_be_asked_about_is_kept(scale):
    """A destination object the inventory does not list is deleted only when the source answers 404: a HEAD the
    source refuses says nothing about the object, so the run fails (one alert) and deletes nothing."""
    source, destination, reports = scale.bucket(), scale.bucket(), scale.bucket()
    seed(source, {"a": b"a", "newer": b"written after the report"})
    seed(destination, {"a": b"a", "newer": b"old copy", "orphan": b"o"})
    manifest = put_inventory(scale.cloud, reports, source, leave_out=["newer"])
    scale.cloud.inject_error("s3", "HeadObject", "AccessDenied", when=lambda p: p.get("Bucket") == source)

    run = scale.run(source=source, destination=destination, sourceInventory=manifest)
    scale.cloud.clear_errors()

    assert keys(scale.cloud, destination) == ["a", "newer", "orphan"]
    assert run["status"] == "FAILED" and scale.calls("DeleteObjects") == 0
    assert len([a for a in scale.cloud.alerts() if run["arn"] in a["message"]]) == 1
    assert keys(scale.cloud, source) == ["a", "newer"]


def test_an_inventory_of_another_bucket_is_refused_and_nothing_moves(scale):
    source, destination, other, reports = scale.bucket(), scale.bucket(), scale.bucket(), scale.bucket()
    seed(source, {"a": b"a"})
    seed(other, {"x": b"x"})
    seed(destination, {"orphan": b"o"})
    manifest = put_inventory(scale.cloud, reports, other)                   # a report, but not of the source

    run = scale.run(source=source, destination=destination, sourceInventory=manifest)

    assert run["status"] == "FAILED" and run["error"] == "InvalidInventory"
    (alert,) = [a for a in scale.cloud.alerts() if run["arn"] in a["message"]]
    assert f"lists bucket {other!r}, not the source {source!r}" in alert["message"]
    assert keys(scale.cloud, destination) == ["orphan"] and keys(scale.cloud, source) == ["a"]


def test_a_key_in_a_report_written_twice_is_merged_once(scale):
    source, destination, reports = scale.bucket(), scale.bucket(), scale.bucket()
    names = [f"k{i:02d}" for i in range(20)]
    seed(source, ((k, b"v2" if k == "k00" else b"v1") for k in names))
    seed(destination, ((k, b"v1") for k in names))                         # k00 changed, the rest unchanged
    uri = put_inventory(scale.cloud, reports, source)
    key = uri.removeprefix(f"s3://{reports}/")
    manifest = json.loads(scale.cloud.client("s3").get_object(Bucket=reports, Key=key)["Body"].read())
    manifest["files"] += manifest["files"]                                  # every data file listed twice
    scale.cloud.client("s3").put_object(Bucket=reports, Key=key, Body=json.dumps(manifest).encode())

    run = scale.run(source=source, destination=destination, sourceInventory=uri)

    assert run["status"] == "SUCCEEDED", run["cause"]
    assert (run["output"]["copied"], run["output"]["skippedUnchanged"]) == (1, 19)
    assert scale.calls("CopyObject") == 1 and keys(scale.cloud, destination) == names
