"""Genomics pipeline cost per sample, counted in the local cloud: state transitions (the parent execution's and
each sample's child execution's), Lambda invocations and Batch calls, for 1..N samples per execution and for jobs
that run longer (more status polls before they finish).

    make bench, or .venv/bin/python bench/genomics.py [--json]

State transitions are what Step Functions bills; with `.sync` jobs they must not grow with job duration.
Exits 1 if they do, or if any execution fails. Cohorts of thousands: bench/genomics_cohort.py.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from localcloud import LocalCloud  # noqa: E402
from localcloud.patches.batch import hold_jobs  # noqa: E402
from localcloud.patches.sfn_map_child_executions import children  # noqa: E402
from localcloud.rehearse import state_transitions  # noqa: E402
from localcloud.scenarios.genomics import genomics_config, network, reads, shared_input  # noqa: E402

SAMPLES = (1, 4, 16)
POLLS = (1, 4)             # DescribeJobs answers RUNNING this many times before the job succeeds


def measure(cloud: LocalCloud, arn: str, samples: int, polls: int) -> dict:
    ids = [f"S{polls}-{i:03d}" for i in range(samples)]
    execution_input = {**shared_input(), "samples": [
        {"sampleId": s, "fastq1S3Path": reads(s)[0], "fastq2S3Path": reads(s)[1]} for s in ids]}
    cloud.metrics.reset()
    with hold_jobs(describes=polls):
        started = cloud.start(arn, execution_input)
        cloud.run_until_idle(timeout=600)
    execution = cloud.execution(started)
    kids = children(started)
    calls = cloud.metrics.api_calls
    if execution["status"] != "SUCCEEDED":
        print(f"{samples} samples, {polls} polls: {execution['status']} {execution['error']}: {execution['cause']}",
              file=sys.stderr)
    return {"samples": samples, "polls": polls, "status": execution["status"],
            "transitions": state_transitions(execution) + sum(len(c["states"]) for c in kids),
            "historyEvents": max([len(execution["history"]), *(c["historyEvents"] for c in kids)]),
            "lambdaInvocations": sum(cloud.metrics.lambda_invocations.values()),
            "submitJob": calls["batch.SubmitJob"], "describeJobs": calls["batch.DescribeJobs"]}


def main(argv: list[str]) -> int:
    rows = []
    with LocalCloud() as cloud:
        arn = cloud.deploy("primary", config=genomics_config(*network(), maxConcurrentSamples=8)) \
            .outputs["genomicsStateMachineArn"]
        for polls in POLLS:
            for samples in SAMPLES:
                rows.append(measure(cloud, arn, samples, polls))
    for r in rows:
        r["transitionsPerSample"] = round(r["transitions"] / r["samples"], 2)
        r["lambdaPerSample"] = round(r["lambdaInvocations"] / r["samples"], 3)
    if "--json" in argv:
        print(json.dumps(rows, indent=2))
    else:
        print("samples polls status     transitions  /sample  lambda  /sample  SubmitJob  DescribeJobs  "
              "largest history")
        for r in rows:
            print(f"{r['samples']:>7} {r['polls']:>5} {r['status']:<10} {r['transitions']:>11} "
                  f"{r['transitionsPerSample']:>8} {r['lambdaInvocations']:>7} {r['lambdaPerSample']:>8} "
                  f"{r['submitJob']:>10} {r['describeJobs']:>13} {r['historyEvents']:>16}")
    by_size = {}
    for r in rows:
        by_size.setdefault(r["samples"], set()).add(r["transitions"])
    independent = all(len(t) == 1 for t in by_size.values())
    print(f"state transitions independent of job duration: {independent}")
    return 0 if independent and all(r["status"] == "SUCCEEDED" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
