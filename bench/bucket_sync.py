"""Bucket sync at 10,000+ objects in the local cloud: S3 requests per operation against the lower bound, state
transitions, Lambda invocations, the largest execution history; then what a sync costs at 1 million and 1 billion
objects, projected from those counted figures, beside S3 Batch Operations and `aws s3 sync` on one EC2 instance
(prices: bench/prices.py). Counts, not timings.

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
sys.path[:0] = [str(ROOT), str(ROOT / "functions"), str(ROOT / "bench")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

import listing_model  # noqa: E402
import prices  # noqa: E402
from localcloud import LocalCloud  # noqa: E402
from localcloud.scenarios.bucket_sync import keys, make_bucket, seed  # noqa: E402

SOURCE, DESTINATION = "bench-source", "bench-destination"
PROFILES = {
    "default": {},
    "tight": {"pagesPerScan": 2, "scansPerExecution": 3, "batchObjects": 250},
}
CHILDREN = ("copy", "delete", "ranges", "index")         # functions a Distributed Map child execution runs
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
    children = sum(v for k, v in invocations.items() if any(f"-{c}-" in k for c in CHILDREN))
    transitions = sum(len(e["states"]) for e in executions)
    listing = out.get("listing", {})
    print(f"   executions {len(executions)}; state transitions {transitions} "
          f"(parent), largest history {max(len(e['history']) for e in executions)} events; "
          f"Lambda invocations {sum(invocations.values())} "
          f"({', '.join(short(k) + ' ' + str(v) for k, v in sorted(invocations.items()))}); "
          f"Distributed Map child executions {children}; listing: {listing}")
    assert root["status"] == "SUCCEEDED", root["cause"]
    assert (out["copied"], out["deleted"]) == (expect["copies"], expect["orphans"]), out
    bound = 1.05 * total_lower + 10
    print(f"   bound: {total} requests <= 1.05 x {total_lower} + 10 = {bound:.0f}: {'yes' if total <= bound else 'NO'}")
    if expect.get("mixed"):
        assert total <= bound, (total, bound)
    return {"calls": synced, "state": state, "lower": lower, "objects": expect["source"], "transitions": transitions,
            "children": children, "invocations": dict(invocations), "listing": listing}


def profile(name: str, n: int) -> None:
    print(f"\n=== profile {name}: {PROFILES[name] or 'stack defaults'}; {n} objects")
    with LocalCloud() as cloud:
        config = {"opsflows:bucketSync": {"allowedBuckets": [SOURCE, DESTINATION], **PROFILES[name]}}
        machine = cloud.deploy("primary", config=config).outputs["bucketSyncStateMachineArn"]
        make_bucket(cloud, SOURCE)
        make_bucket(cloud, DESTINATION)
        tally = S3Tally(cloud)
        seed(SOURCE, ((f"data/{i:06d}.json", b"v1 %d" % i) for i in range(n)))

        first = run(cloud, machine, tally, f"first sync of {n} objects into an empty bucket",
                    {"source": n, "destination": 0, "copies": n, "orphans": 0})

        changed, added, removed = n // 20, n // 20, n // 10             # 5% changed, 5% new, 10% deleted
        seed(SOURCE, ((f"data/{i:06d}.json", b"v2 changed %d" % i) for i in range(0, changed * 3, 3)))
        seed(SOURCE, ((f"data/{n + i:06d}.json", b"new %d" % i) for i in range(added)))
        backend_delete(SOURCE, [f"data/{i:06d}.json" for i in range(1, removed * 3, 3)])
        mixed = run(cloud, machine, tally, f"incremental: {changed} changed, {added} new, {removed} deleted at the source",
                    {"source": n + added - removed, "destination": n, "copies": changed + added, "orphans": removed,
                     "mixed": True})

        run(cloud, machine, tally, "rerun with nothing to do",
            {"source": n + added - removed, "destination": n + added - removed, "copies": 0, "orphans": 0})
        assert keys(cloud, SOURCE) == keys(cloud, DESTINATION)
    return {"first": first, "incremental": mixed}


# -- the cost model ---------------------------------------------------------------------------------------------------
# Assumptions (stated once, printed with the table): latencies of small-object requests, and the memory of each
# function (components/bucket_sync.py). Lambda time is what its requests take, at the concurrency it uses.
LIST_S, COPY_S, STATE_S = 0.1, 0.08, 0.02      # seconds: one LIST page, one small-object CopyObject, one manifest op
MEMORY_GB = {"scan": 1.769, "ranges": 1.769, "copy": 0.5, "delete": 0.25, "validate": 0.25, "index": 4.0}
COPY_THREADS, MAX_CONCURRENCY = 8, 40          # objects a copy child copies at once; copy children at once
EC2_COPIES_PER_S = 1000                        # `aws s3 sync` with max_concurrent_requests = 100 (default 10: ~100/s)
BATCH_OPS_NOTE = "AWS-managed; no published rate"


def project(m: dict, objects: int) -> dict:
    """The counted run's figures at `objects` objects. Requests scale with the objects (copies, deletes, LIST
    pages and the manifests of copy batches, per object as measured); the listing's fan-out does not (ranges are
    bounded by rounds x parallelism: the planner's own code on modelled keys at that size); nor do the parent's
    Scan loops (one per copy round of <= 400 batches and per listing round)."""
    scale = objects / m["objects"]
    listing = listing_model.model(listing_model.Bucket([listing_model.Family("data/{:012d}", objects)]), 32)
    copies = (m["calls"].get("CopyObject", 0) + m["calls"].get("UploadPartCopy", 0)) * scale
    copy_children = max(1, copies / 1000) if copies else 0
    other_children = m["children"] - sum(v for k, v in m["invocations"].items() if "-ranges-" in k)
    children = copy_children + (other_children - (m["calls"].get("CopyObject", 0) + 999) // 1000) * scale \
        + listing["passes"]
    loops = copies / (400 * 1000) + listing["rounds"] + 2
    return {"calls": {op: v * scale for op, v in m["calls"].items()},
            "state": {op: v * scale for op, v in m["state"].items()}, "copies": copies, "lists": listing["lists"],
            "path": listing["path"], "children": children, "transitions": loops * 8 + 2 * children,
            "invocations": children + loops}


def dollars(p: dict) -> dict:
    calls, state = p["calls"], p["state"]
    put_class = p["lists"] + p["copies"] + sum(v for op, v in state.items() if op in ("PutObject", "ListObjectsV2"))
    get_class = calls.get("HeadObject", 0) + calls.get("HeadBucket", 0) \
        + sum(v for op, v in state.items() if op in ("GetObject", "HeadObject"))
    gb_seconds = (p["lists"] * LIST_S / 2 * MEMORY_GB["ranges"]
                  + p["copies"] * COPY_S / COPY_THREADS * MEMORY_GB["copy"]
                  + calls.get("DeleteObjects", 0) * 0.5 * MEMORY_GB["delete"]
                  + sum(state.values()) * STATE_S * MEMORY_GB["scan"] + p["invocations"] * 0.05)
    out = {"s3": put_class * prices.S3_PUT_COPY_POST_LIST + get_class * prices.S3_GET_HEAD,
           "sfn": p["transitions"] * prices.SFN_STATE_TRANSITION,
           "lambda": p["invocations"] * prices.LAMBDA_REQUEST + gb_seconds * prices.LAMBDA_GB_SECOND_ARM}
    out["total"] = sum(out.values())
    return out


def cost_model(measured: dict) -> None:
    prices.main()
    print(f"\n=== what one sync costs, projected from the counted figures above (us-east-1 list prices, "
          f"bench/prices.py)\n   assumed: LIST {LIST_S} s, small-object COPY {COPY_S} s, {COPY_THREADS} copies a child, "
          f"{MAX_CONCURRENCY} children at once; aws s3 sync on one {prices.EC2_INSTANCE} "
          f"(${prices.EC2_HOURLY}/h) at {EC2_COPIES_PER_S} copies/s, listing one page after another")
    print(f"   {'sync':<13}{'objects':>15}  {'opsflows: S3':>13}{'SFN':>10}{'Lambda':>10}{'total':>11}{'time':>9}"
          f"  {'Batch Ops':>11}  {'s3 sync EC2':>12}{'time':>9}")
    for label, m in (("first", measured["first"]), ("incremental", measured["incremental"])):
        for objects in (1_000_000, 1_000_000_000):
            p = project(m, objects)
            d = dollars(p)
            hours = (p["path"] * LIST_S + p["copies"] * COPY_S / (COPY_THREADS * MAX_CONCURRENCY)) / 3600
            batch = prices.BATCH_OPS_JOB + p["copies"] * prices.BATCH_OPS_PER_OBJECT \
                + p["copies"] * prices.S3_PUT_COPY_POST_LIST + objects * prices.S3_INVENTORY_PER_OBJECT
            lower_lists = 2 * objects / 1000
            ec2_hours = (lower_lists * LIST_S + p["copies"] / EC2_COPIES_PER_S) / 3600
            ec2 = ec2_hours * prices.EC2_HOURLY + (lower_lists + p["copies"]) * prices.S3_PUT_COPY_POST_LIST
            print(f"   {label:<13}{objects:>15,}  {d['s3']:>12,.2f}${d['sfn']:>9,.2f}${d['lambda']:>9,.2f}$"
                  f"{d['total']:>10,.2f}${hours:>8.1f}h  {batch:>10,.2f}$  {ec2:>11,.2f}${ec2_hours:>8.1f}h")
    print(f"   Batch Ops: $0.25 a job + $1.00 a million objects + the same COPY requests + an S3 Inventory manifest of "
          f"the source; it copies what its manifest lists (no diff: an incremental run needs a manifest of the "
          f"changes); time: {BATCH_OPS_NOTE}.")


def backend_delete(bucket: str, names: list[str]) -> None:
    from moto.s3.models import s3_backends
    from localcloud.resources import ACCOUNT
    backend = s3_backends[ACCOUNT]["aws"]
    for name in names:
        backend.delete_object(bucket, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--profile", choices=[*PROFILES, "both"], default="default")
    args = parser.parse_args()
    measured = {}
    for name in (PROFILES if args.profile == "both" else [args.profile]):
        measured[name] = profile(name, args.objects)
    cost_model(measured.get("default") or next(iter(measured.values())))


if __name__ == "__main__":
    main()
