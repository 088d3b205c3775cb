"""Parallel listing, measured in the local cloud: for 10,000 and 100,000 objects a bucket (a rerun with nothing to
copy, so the run is listing alone), the listing's critical path (LIST requests that had to happen one after
another) against all LIST requests, at listingParallelism 1, 8 and 32; then a 20,000+ object sync of skewed keys
at parallelism 1, 32 and 256 (the same result each time); then the projection to 1 billion objects from the
planner's own code on modelled keys (bench/listing_model.py). Counts, not timings.

    .venv/bin/python bench/bucket_listing.py [--objects 10000,100000] [--parallelism 1,8,32]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions"), str(ROOT / "bench")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

import listing_model  # noqa: E402
from localcloud import LocalCloud  # noqa: E402
from localcloud.scenarios.bucket_sync import keys, make_bucket, seed  # noqa: E402

SOURCE, DESTINATION = "bench-source", "bench-destination"


def sync(parallelism: int, source: list[tuple[str, bytes]], destination: list[tuple[str, bytes]]) -> dict:
    with LocalCloud() as cloud:
        machine = cloud.deploy("primary", config={"opsflows:bucketSync": {
            "allowedBuckets": [SOURCE, DESTINATION], "listingParallelism": parallelism}}) \
            .outputs["bucketSyncStateMachineArn"]
        make_bucket(cloud, SOURCE)
        make_bucket(cloud, DESTINATION)
        seed(SOURCE, source)
        seed(DESTINATION, destination)
        listed: list[str] = []
        cloud.inject_error("s3", "ListObjectsV2", "Never", when=lambda p: listed.append(p["Bucket"]) and False)
        arn = cloud.start(machine, {"source": SOURCE, "destination": DESTINATION})
        cloud.run_until_idle(timeout=3600)
        run = cloud.execution(arn)
        assert run["status"] == "SUCCEEDED", run["cause"]
        assert keys(cloud, DESTINATION) == keys(cloud, SOURCE)
        out = run["output"]
        counted = sum(1 for b in listed if b in (SOURCE, DESTINATION))
        assert counted == out["listing"]["requests"], (counted, out["listing"])
        return out


def no_op(n: int, parallelism: int) -> dict:
    objects = [(f"data/{i:06d}.json", b"x") for i in range(n)]
    return sync(parallelism, objects, objects)


def skewed(n: int) -> list[str]:
    hot = n * 9 // 10
    return ([f"hot/{i:07d}" for i in range(hot)] + [f"k{i:06d}" for i in range(n - hot - 300)]
            + ["\u00fc/" + chr(0x4E00 + i) for i in range(100)] + [f"same{chr(33 + i)}" for i in range(100)]
            + [f"zz{chr(0x7F + i)}" for i in range(100)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", default="10000,100000")
    parser.add_argument("--parallelism", default="1,8,32")
    parser.add_argument("--skewed", type=int, default=20_000)
    args = parser.parse_args()
    sizes = [int(x) for x in args.objects.split(",")]
    levels = [int(x) for x in args.parallelism.split(",")]

    print("=== listing a bucket pair with nothing to copy (measured in the local cloud; LIST requests counted)")
    print(f"   {'objects':>9}{'parallelism':>13}{'LIST calls':>12}{'lower bound':>13}{'critical path':>15}"
          f"{'ranges':>8}{'at once':>9}")
    for n in sizes:
        for p in levels:
            listing = no_op(n, p)["listing"]
            print(f"   {n:>9,}{p:>13}{listing['requests']:>12}{2 * -(-n // 1000):>13}{listing['criticalPath']:>15}"
                  f"{listing['ranges']:>8}{listing['widest']:>9}")

    print(f"\n=== a sync of {args.skewed:,} skewed keys (90% under one prefix, keys without '/', unicode, keys that "
          "differ in their last character; changed and missing objects, 2 orphans) at three parallelisms")
    names = skewed(args.skewed)
    source = [(k, b"v2" if i % 200 == 0 else b"v1") for i, k in enumerate(names)]
    destination = [(k, b"v1") for k in names[:-200]] + [("hot/0000000~", b"o"), ("k", b"o")]
    results = {}
    for p in (1, 32, 256):
        out = sync(p, source, destination)
        results[p] = {k: out[k] for k in ("listedSource", "listedDestination", "copied", "skippedUnchanged",
                                          "deleted")}
        print(f"   parallelism {p:>3}: {results[p]}; listing {out['listing']}")
    assert results[1] == results[32] == results[256], results
    print("   identical results at every parallelism")

    print("\n=== 1 billion objects a bucket: the planner's own code on modelled keys (bench/listing_model.py);")
    print(f"    wall time = critical path x LIST latency + {listing_model.ROUND_OVERHEAD_S:.0f} s a ListRanges round")
    print(f"   {'keys':<22}{'parallelism':>12}{'LIST calls':>14}{'critical path':>15}{'@0.1 s':>10}{'@0.3 s':>10}")
    for name, bucket in listing_model.buckets(1_000_000_000).items():
        for p in levels:
            m = listing_model.model(bucket, p)
            fast = (m["path"] * 0.1 + m["rounds"] * listing_model.ROUND_OVERHEAD_S) / 3600
            slow = (m["path"] * 0.3 + m["rounds"] * listing_model.ROUND_OVERHEAD_S) / 3600
            print(f"   {name:<22}{p:>12}{m['lists']:>14,}{m['path']:>15,}{fast:>9.2f}h{slow:>9.2f}h")


if __name__ == "__main__":
    main()
