"""Bucket sync at 10,000+ objects in the local cloud: S3 requests per operation against the lower bound, state
transitions, Lambda invocations, the largest execution history. Counts, not timings.

    .venv/bin/python bench/bucket_sync.py [--objects 10000] [--profile default|tight|both]

Runs, per profile: a first sync into an empty bucket, an incremental sync (changed, new and deleted source
objects), and a rerun with nothing to do. "default" uses the stack's settings (one Scan for 10k objects);
"tight" uses tiny budgets (2 pages a Scan, 3 Scans an execution, 250-object batches) so the same sync runs as
many Scans, copy batches and continuation executions, which shows what those cost.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from localcloud import LocalCloud  # noqa: E402
from localcloud.scenarios.bucket_sync import keys, make_bucket, seed  # noqa: E402

SOURCE, DESTINATION = "bench-source", "bench-destination"
PROFILES = {
    "default": {},
    "tight": {"pagesPerScan": 2, "scansPerExecution": 3, "batchObjects": 250},
}
SYNCED_OPERATIONS = ("ListObjectsV2", "CopyObject", "UploadPartCopy", "HeadObject", "DeleteObjects",
                     "HeadBucket", "PutObject", "GetObject")


class S3Tally:
    """Workload S3 requests per (operation, synced bucket or state bucket), observed through the local cloud's
    error-injection hook (the predicate records the call and never fails it)."""

    def __init__(self, cloud: LocalCloud):
        self.calls: Counter = Counter()
        for operation in SYNCED_OPERATIONS:
            cloud.inject_error("s3", operation, "Never", when=self._recorder(operation))

    def _recorder(self, operation: str):
        def record(params: dict) -> bool:
            where = "synced" if params.get("Bucket") in (SOURCE, DESTINATION) else "state"
            self.calls[(operation, where)] += 1
            return False
        return record

    def take(self) -> Counter:
        taken, self.calls = self.calls, Counter()
        return taken


def short(function_name: str) -> str:
    return function_name.split("-")[2]          # bucket-sync-<copy>-fn-<suffix>


def pages(n: int) -> int:
    return max(1, math.ceil(n / 1000))


def run(cloud: LocalCloud, machine: str, tally: S3Tally, label: str, expect: dict) -> dict:
    before = {e["arn"] for e in cloud.executions(machine)}
    cloud.metrics.reset()
    tally.take()
    root = cloud.execution(cloud.start(machine, {"source": SOURCE, "destination": DESTINATION}))
    cloud.run_until_idle(timeout=3600)
    root = cloud.execution(root["arn"])
    executions = [e for e in cloud.executions(machine) if e["arn"] not in before]
    calls = tally.take()
    out = root["output"] or {}
    lower = {"ListObjectsV2": pages(expect["source"]) + pages(expect["destination"]),
             "CopyObject": expect["copies"], "DeleteObjects": math.ceil(expect["orphans"] / 1000), "HeadObject": 0}
    synced = {op: calls[(op, "synced")] for op in SYNCED_OPERATIONS if calls[(op, "synced")]}
    state = {op: calls[(op, "state")] for op in SYNCED_OPERATIONS if calls[(op, "state")]}
    total_lower = sum(lower.values())
    total = sum(v for op, v in synced.items() if op != "HeadBucket")
    invocations = cloud.metrics.lambda_invocations
    print(f"\n-- {label}: {root['status']}  listed {out.get('listedSource')}/{out.get('listedDestination')}, "
          f"copied {out.get('copied')}, unchanged {out.get('skippedUnchanged')}, deleted {out.get('deleted')}, "
          f"failed {out.get('failed')}, bytes {out.get('bytesCopied')}")
    print(f"   {'S3 operation':<16}{'requests':>10}{'lower bound':>13}")
    for op in ("ListObjectsV2", "CopyObject", "UploadPartCopy", "HeadObject", "DeleteObjects"):
        print(f"   {op:<16}{synced.get(op, 0):>10}{lower.get(op, '-'):>13}")
    over = (total / total_lower - 1) * 100 if total_lower else 0
    print(f"   {'total':<16}{total:>10}{total_lower:>13}   ({over:+.2f}%)")
    overhead = synced.get("HeadBucket", 0) + sum(state.values())
    everything = total + overhead
    print(f"   + validation HeadBucket {synced.get('HeadBucket', 0)}, state-bucket manifests {state or 'none'}: "
          f"all S3 requests {everything} ({(everything / total_lower - 1) * 100:+.2f}% over the lower bound)")
    print(f"   executions {len(executions)}; state transitions {sum(len(e['states']) for e in executions)} "
          f"(parent), largest history {max(len(e['history']) for e in executions)} events; "
          f"Lambda invocations {sum(invocations.values())} "
          f"({', '.join(short(k) + ' ' + str(v) for k, v in sorted(invocations.items()))}); "
          f"copy/delete child executions {sum(v for k, v in invocations.items() if '-copy-' in k or '-delete-' in k)}")
    assert root["status"] == "SUCCEEDED", root["cause"]
    assert (out["copied"], out["deleted"]) == (expect["copies"], expect["orphans"]), out
    return {"calls": synced, "lower": lower}


def profile(name: str, n: int) -> None:
    print(f"\n=== profile {name}: {PROFILES[name] or 'stack defaults'}; {n} objects")
    with LocalCloud() as cloud:
        config = {"opsflows:bucketSync": {"allowedBuckets": [SOURCE, DESTINATION], **PROFILES[name]}}
        machine = cloud.deploy("primary", config=config).outputs["bucketSyncStateMachineArn"]
        make_bucket(cloud, SOURCE)
        make_bucket(cloud, DESTINATION)
        tally = S3Tally(cloud)
        seed(SOURCE, ((f"data/{i:06d}.json", b"v1 %d" % i) for i in range(n)))

        run(cloud, machine, tally, f"first sync of {n} objects into an empty bucket",
            {"source": n, "destination": 0, "copies": n, "orphans": 0})

        changed, added, removed = n // 20, n // 20, n // 10             # 5% changed, 5% new, 10% deleted
        seed(SOURCE, ((f"data/{i:06d}.json", b"v2 changed %d" % i) for i in range(0, changed * 3, 3)))
        seed(SOURCE, ((f"data/{n + i:06d}.json", b"new %d" % i) for i in range(added)))
        backend_delete(SOURCE, [f"data/{i:06d}.json" for i in range(1, removed * 3, 3)])
        run(cloud, machine, tally, f"incremental: {changed} changed, {added} new, {removed} deleted at the source",
            {"source": n + added - removed, "destination": n, "copies": changed + added, "orphans": removed})

        run(cloud, machine, tally, "rerun with nothing to do",
            {"source": n + added - removed, "destination": n + added - removed, "copies": 0, "orphans": 0})
        assert keys(cloud, SOURCE) == keys(cloud, DESTINATION)


def backend_delete(bucket: str, names: list[str]) -> None:
    from moto.s3.models import s3_backends
    from localcloud.resources import ACCOUNT
    backend = s3_backends[ACCOUNT]["aws"]
    for name in names:
        backend.delete_object(bucket, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--profile", choices=[*PROFILES, "both"], default="both")
    args = parser.parse_args()
    for name in (PROFILES if args.profile == "both" else [args.profile]):
        profile(name, args.objects)


if __name__ == "__main__":
    main()
