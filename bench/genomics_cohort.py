"""Genomics cohorts in the local cloud: a samplesheet of N samples in one execution (default 10 and 1,000; the
issue's table adds 10,000), counted, and the projection for 100,000.

    .venv/bin/python bench/genomics_cohort.py [--samples 10,1000,10000] [--limits 100000] [--json]

Per cohort: state transitions per sample (the parent execution's and every sample's child execution's), Lambda
invocations per sample, the largest history of any execution (parent or child), the largest state payload (any
state's input or output, any execution), Batch and S3 requests per sample, the bytes the run keeps in S3 per
sample (plan, Map results, report), and the wall time here (2 shared cores, moto in-process: AWS's wall time is
Batch's).

`--limits N` checks the two Lambdas that see every sample against Lambda's limits (15 minutes, the function's
1,769 MB), outside the workflow: Plan validating and planning an N-row samplesheet, Report reading the Map Run
results of N children (written in AWS's result-file format) and writing the report. Peak memory is the
Python heap's peak (tracemalloc) while the handler works, up to its first upload: what it writes is spooled to
/tmp past 8 MB and the SDK streams it in 8 MB parts, while moto keeps whole copies of uploads in this process.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from localcloud import LocalCloud  # noqa: E402
from localcloud.patches.sfn_map_child_executions import children  # noqa: E402
from localcloud.resources import client  # noqa: E402
from localcloud.scenarios.genomics import (INPUT_BUCKET, RESULTS_BUCKET, cohort, genomics_config, network,  # noqa: E402
                                           put_sheet, shared_input)

LAMBDA_SECONDS, LAMBDA_MB = 900, 1769          # the plan and report functions' timeout and memory
PAYLOAD_KEYS = ("input", "output", "parameters")


def largest_payload(history: list[dict]) -> int:
    return max((len(v.encode()) for e in history for d in e.values() if isinstance(d, dict)
                for k, v in d.items() if k in PAYLOAD_KEYS and isinstance(v, str)), default=0)


def bucket_bytes(bucket: str, prefix: str = "") -> int:
    pages = client("s3", "us-west-2").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(o["Size"] for page in pages for o in page.get("Contents", []))


def run_cohort(cloud: LocalCloud, arn: str, state_bucket: str, n: int) -> dict:
    sheet = put_sheet(f"bench/cohort-{n}.csv", cohort(f"B{n}X", n))
    cloud.metrics.reset()
    before = {"state": bucket_bytes(state_bucket), "results": bucket_bytes(RESULTS_BUCKET)}
    started = time.monotonic()
    execution_arn = cloud.start(arn, {"samplesheet": sheet, **shared_input()})
    cloud.run_until_idle(timeout=24 * 3600)
    wall = time.monotonic() - started
    execution = cloud.execution(execution_arn)
    kids = children(execution_arn)
    calls = cloud.metrics.api_calls
    stored = {"state": bucket_bytes(state_bucket) - before["state"],
              "results": bucket_bytes(RESULTS_BUCKET) - before["results"]}
    return {
        "samples": n, "status": execution["status"], "succeeded": (execution["output"] or {}).get("counts", {}),
        "children": len(kids),
        "transitionsPerSample": round((len(execution["states"]) + sum(len(c["states"]) for c in kids)) / n, 3),
        "parentTransitions": len(execution["states"]),
        "lambdaPerSample": round(sum(cloud.metrics.lambda_invocations.values()) / n, 4),
        "largestHistory": max([len(execution["history"]), *(c["historyEvents"] for c in kids)]),
        "parentHistory": len(execution["history"]),
        "largestPayload": max([largest_payload(execution["history"]), *(c["largestPayload"] for c in kids)]),
        "batchCallsPerSample": round((calls["batch.SubmitJob"] + calls["batch.DescribeJobs"]) / n, 2),
        "s3CallsPerSample": round(sum(v for k, v in calls.items() if k.startswith("s3.")) / n, 3),
        "s3BytesPerSample": {k: round(v / n) for k, v in stored.items()},
        "wallSeconds": round(wall, 1),
    }


def project(rows: list[dict], target: int) -> dict:
    """100,000 samples from the largest measured cohort: per-sample figures stay, constants stay, wall time and
    bytes grow linearly (fitted on the two largest cohorts)."""
    big = rows[-1]
    slope = ((rows[-1]["wallSeconds"] - rows[-2]["wallSeconds"]) / (rows[-1]["samples"] - rows[-2]["samples"])
             if len(rows) > 1 else rows[-1]["wallSeconds"] / rows[-1]["samples"])
    return {"samples": target, "status": "(projected)", "transitionsPerSample": round(10 + big["parentTransitions"]
                                                                                       / target, 4),
            "lambdaPerSample": round(2 / target, 6), "largestHistory": big["largestHistory"],
            "largestPayload": big["largestPayload"], "batchCallsPerSample": big["batchCallsPerSample"],
            "s3CallsPerSample": big["s3CallsPerSample"],
            "s3Bytes": {k: v * target for k, v in big["s3BytesPerSample"].items()},
            "wallSeconds": round(big["wallSeconds"] + slope * (target - big["samples"]))}


def limits(n: int) -> dict:
    """Plan over an n-row sheet and Report over n children, as the handlers run in Lambda (moto S3)."""
    from moto import mock_aws

    from genomics.jobs import BatchResources
    from genomics.plan import plan_run
    from genomics.report import build
    from localcloud import patches

    from genomics import s3io

    patches.apply_all()
    peaks: list[int] = []
    upload = s3io.Spool.upload

    def measured_upload(self, *args, **kwargs):
        peaks.append(tracemalloc.get_traced_memory()[1])
        return upload(self, *args, **kwargs)

    s3io.Spool.upload = measured_upload
    arn = "arn:aws:batch:us-west-2:123456789012"
    batch = BatchResources({t: f"{arn}:job-definition/genomics-{t.lower()}-1:1" for t in
                            ("isaac", "strelka", "snpEff", "samtoolsStats")},
                           {"high": f"{arn}:job-queue/high", "low": f"{arn}:job-queue/low"})
    found = {}
    with mock_aws():
        s3 = client("s3", "us-west-2")
        for bucket in (INPUT_BUCKET, RESULTS_BUCKET, "bench-state"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        sheet = put_sheet("bench/limits.csv", cohort("L", n))
        tracemalloc.start()
        started = time.monotonic()
        planned = plan_run({"samplesheet": sheet, **shared_input()}, "limits", batch=batch,
                           results_bucket=RESULTS_BUCKET, input_buckets={INPUT_BUCKET}, state_bucket="bench-state")
        found["plan"] = {"seconds": round(time.monotonic() - started, 1), "peakMB": round(peaks[0] / 2**20),
                         "planMB": round(s3.head_object(Bucket="bench-state", Key=planned["plan"]["key"])
                                         ["ContentLength"] / 2**20, 1)}
        tracemalloc.stop()
        results = _results_files(s3, planned, n)
        peaks.clear()
        tracemalloc.start()
        started = time.monotonic()
        verdict = build({**planned, "results": results}, "arn:limits", 0)
        found["report"] = {"seconds": round(time.monotonic() - started, 1), "peakMB": round(peaks[0] / 2**20),
                           "resultsMB": round(sum(s3.head_object(Bucket="bench-state", Key=k)["ContentLength"]
                                                  for k in results["keys"]) / 2**20, 1),
                           "reportMB": round(s3.head_object(Bucket=RESULTS_BUCKET, Key=planned["report"]["json"])
                                             ["ContentLength"] / 2**20, 1),
                           "counts": verdict["output"]["counts"]}
        tracemalloc.stop()
    s3io.Spool.upload = upload
    return found


def _results_files(s3, planned: dict, n: int) -> dict:
    """What the Map Run's ResultWriter would write for n children that all SUCCEEDED (one file per 10,000)."""
    items = json.loads(s3.get_object(Bucket="bench-state", Key=planned["plan"]["key"])["Body"].read())
    keys = []
    for start in range(0, n, 10_000):
        entries = []
        for item in items[start:start + 10_000]:
            jobs = {t: {"jobId": f"{t}-{item['index']}", "status": "SUCCEEDED", "startedAt": 0, "stoppedAt": 3_600_000}
                    for t in item["jobs"]}
            entries.append({"ExecutionArn": f"arn:aws:states:us-west-2:123456789012:execution:g/m:{item['index']}",
                            "Input": json.dumps({"sample": item, "execution": "limits"}), "Status": "SUCCEEDED",
                            "Output": json.dumps({"sampleId": item["sampleId"], "status": "SUCCEEDED", "jobs": jobs,
                                                  "failed": None}),
                            "StartDate": "2026-01-01T00:00:00.000Z", "StopDate": "2026-01-01T05:00:00.000Z"})
        keys.append(f"runs/limits/map/id/SUCCEEDED_{len(keys)}.json")
        s3.put_object(Bucket="bench-state", Key=keys[-1], Body=json.dumps(entries).encode())
    manifest = {"DestinationBucket": "bench-state", "MapRunArn": "x", "ResultFiles": {
        "SUCCEEDED": [{"Key": k, "Size": 0} for k in keys], "FAILED": [], "PENDING": []}}
    s3.put_object(Bucket="bench-state", Key="runs/limits/map/id/manifest.json", Body=json.dumps(manifest).encode())
    return {"MapRunArn": "x", "ResultWriterDetails": {"Bucket": "bench-state", "Key": "runs/limits/map/id/manifest.json"},
            "keys": keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="10,1000", help="cohort sizes, comma-separated")
    parser.add_argument("--limits", type=int, default=100_000, help="rows for the Lambda-limits check (0: skip)")
    parser.add_argument("--concurrency", type=int, default=100, help="opsflows:genomics.maxConcurrentSamples")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.samples.split(",")]
    rows = []
    with LocalCloud() as cloud:
        deployment = cloud.deploy("primary", genomics_config(*network(), maxConcurrentSamples=args.concurrency))
        arn = deployment.outputs["genomicsStateMachineArn"]
        state_bucket = next(r.outputs["bucket"] for r in deployment.of_type("aws:s3/bucket:Bucket")
                            if r.name == "genomics-state")
        for n in sizes:
            rows.append(run_cohort(cloud, arn, state_bucket, n))
            print(f"... {n} samples: {rows[-1]['status']} in {rows[-1]['wallSeconds']} s", file=sys.stderr)
    projected = project(rows, 100_000)
    checked = limits(args.limits) if args.limits else None
    if args.json:
        print(json.dumps({"cohorts": rows, "projected": projected, "limits": checked}, indent=2))
        return 0 if all(r["status"] == "SUCCEEDED" for r in rows) else 1
    print("| samples | status | transitions/sample | Lambda invocations/sample | largest history (events) | "
          "largest payload (bytes) | Batch calls/sample | S3 calls/sample | wall time here |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in [*rows, projected]:
        print(f"| {r['samples']:,} | {r['status']} | {r['transitionsPerSample']} | {r['lambdaPerSample']} | "
              f"{r['largestHistory']} | {r['largestPayload']:,} | {r['batchCallsPerSample']} | "
              f"{r['s3CallsPerSample']} | {_duration(r['wallSeconds'])} |")
    print(f"\nS3 kept per sample (state bucket: plan + Map results; results bucket: report + done marker): "
          f"{rows[-1]['s3BytesPerSample']} bytes; for 100,000: "
          + ", ".join(f"{k} {v / 2**20:,.0f} MB" for k, v in projected["s3Bytes"].items()))
    if checked:
        plan, report = checked["plan"], checked["report"]
        print(f"\nLambda limits ({LAMBDA_SECONDS} s, {LAMBDA_MB} MB), {args.limits:,} samples:"
              f"\n  plan:   {plan['seconds']} s, peak {plan['peakMB']} MB, plan written {plan['planMB']} MB"
              f"\n  report: {report['seconds']} s, peak {report['peakMB']} MB, results read {report['resultsMB']} MB, "
              f"report.json {report['reportMB']} MB, counts {report['counts']}")
        within = all(x["seconds"] < LAMBDA_SECONDS and x["peakMB"] < LAMBDA_MB for x in (plan, report))
        print(f"  within one Lambda's limits: {within}")
    return 0 if all(r["status"] == "SUCCEEDED" for r in rows) else 1


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{math.floor(seconds / 60)} min {seconds % 60:.0f} s"


if __name__ == "__main__":
    sys.exit(main())
