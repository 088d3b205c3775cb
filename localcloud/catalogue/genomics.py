"""The genomics pipeline under faults: each row runs a fresh two-sample nf-core samplesheet (its own sample ids)
through Plan, the Distributed Map (four Batch jobs a sample) and Report.

End state compared: per sample, how many jobs of each tool SUCCEEDED (one each: a fault must neither lose a job
nor run one twice) and which samples have a done marker. An operator re-runs a failed cohort the way the
README says, with `"resume": true`: only samples without a done marker run again, so a fault in the report or
one sample's job never re-runs the samples that were done.
Safety rules checked after every phase: no job runs downstream of one that did not succeed (same sample and
execution), no tool of a sample SUCCEEDED twice, no done marker for a sample whose four jobs did not all
succeed. A malformed input must change nothing anywhere: no job, no object in the results or state bucket.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..cloud import LocalCloud
from ..scenarios.genomics import (INPUT_BUCKET, RESULTS_BUCKET, TOOLS, GivenNetwork, cohort, done_markers, job_count,
                                  jobs_of_samples, put_sheet, sample_input, shared_input)
from . import FAILED, SUCCEEDED, BadInput, Exercise, FaultCase

SAMPLES = 2
SHEETS = "catalogue/bad"
HEADER = "sample,fastq_1,fastq_2"
READS = f"s3://{INPUT_BUCKET}/fastq/B_1.fq.gz,s3://{INPUT_BUCKET}/fastq/B_2.fq.gz"
# Malformed samplesheets the bad-input rows name (written by `prepare`).
BAD_SHEETS = {
    "missing-column.csv": "sample,fastq_1\nBADCOL1,s3://opsflows-genomics-inputs/fastq/B_1.fq.gz\n",
    "duplicates.csv": f"{HEADER}\nBADDUP1,{READS}\nBADDUP2,{READS}\nBADDUP1,{READS}\n",
}


def _sheet(name: str) -> dict:
    return {"samplesheet": f"s3://{INPUT_BUCKET}/{SHEETS}/{name}", **shared_input()}


@dataclass
class Run:
    prefix: str                  # every sample id of the run starts with it
    samples: list[str]
    sheet: str


class Genomics(Exercise):
    workflow = "genomics"
    output = "genomicsStateMachineArn"
    faults = (
        FaultCase(("batch.Job@isaac=SpotReclaimed:2",), SUCCEEDED, "Spot reclamation within the job definition's "
                  "retry strategy (3 attempts): Batch retries, nothing else notices"),
        FaultCase(("batch.Job@isaac=SpotReclaimed:3",), FAILED, "Spot reclamation beyond the retry strategy: that "
                  "sample fails alone, the others complete; resume re-runs only it"),
        FaultCase(("batch.SubmitJob=TooManyRequestsException:3",), SUCCEEDED, "Batch SubmitJob throttling, retried "
                  "by the job's Retry (no duplicate job)"),
        FaultCase(("batch.DescribeJobs=TooManyRequestsException:4",), SUCCEEDED, "Batch DescribeJobs throttling while "
                  "a job is followed: polled again, never re-submitted"),
        FaultCase(("lambda.Invoke=TooManyRequestsException:3",), SUCCEEDED, "Lambda throttles Step Functions"),
        FaultCase(("lambda.Invoke@genomics-plan=Sandbox.Timedout:1",), FAILED, "the plan Lambda times out: nothing "
                  "submitted, one alert"),
        FaultCase(("lambda.Invoke@genomics-report=Sandbox.Timedout:1",), FAILED, "the report Lambda times out after "
                  "every sample ran: one alert; resume re-runs no sample"),
        FaultCase(("s3.GetObject@catalogue/=SlowDown:4",), SUCCEEDED, "S3 throttles the samplesheet read beyond the "
                  "SDK's retries: the plan is retried"),
        FaultCase(("s3.GetObject@catalogue/=AccessDenied:1",), FAILED, "the samplesheet cannot be read: nothing "
                  "submitted, one alert naming it"),
        FaultCase(("s3.PutObject@report.json=AccessDenied:1",), FAILED, "the report cannot be written: one alert; "
                  "resume writes it without re-running a sample"),
    )
    bad_inputs = (
        BadInput("a samples list with duplicates", {"samples": [sample_input("BADD1"), sample_input("BADD1")]},
                 "'BADD1' appears twice"),
        BadInput("a non-S3 FASTQ path", sample_input("BADP1", fastq1S3Path="/data/reads_1.fq.gz"),
                 "fastq1S3Path: got '/data/reads_1.fq.gz'"),
        BadInput("../ in the results path", sample_input("BADR1", resultsS3Path=f"s3://{RESULTS_BUCKET}/r/../../etc"),
                 "must not contain '.' or '..' path segments"),
        BadInput("an empty sample id", sample_input(""), "sampleId: got ''"),
        # The cause is the Lambda's error as JSON, so the alert shows the character escaped: 'NA12878-\u00e9'.
        BadInput("a unicode sample id", sample_input("NA12878-é"), "sampleId: got 'NA12878-\\u00e9'; must be 1-100"),
        BadInput("a 1,025-byte FASTQ key", sample_input("BADK1", fastq2S3Path=f"s3://{INPUT_BUCKET}/{'k' * 1025}"),
                 "its key is 1025 bytes; S3 keys are at most 1024"),
        BadInput("oversized tool arguments (200 KB)", sample_input("BADO1", strelka={"cmdArgs": "x" * 200_000}),
                 "strelka: its command would be"),
        BadInput("a job definition that is not this stack's",
                 sample_input("BADJ1", isaac={"referenceS3Path": f"s3://{INPUT_BUCKET}/reference/isaac/",
                                              "jobDefinition": "arn:aws:batch:us-west-2:111122223333:job-definition/x:1"}),
                 "isaac.jobDefinition: got 'arn:aws:batch:us-west-2:111122223333:job-definition/x:1'"),
        BadInput("wrong types", {**sample_input("BADT1"), "snpEff": "-t hg38", "resume": "yes"},
                 "snpEff: got '-t hg38' (sample BADT1); must be an object"),
        BadInput("not a JSON object", ["NA12878"], "input: expected a JSON object, got list"),
        BadInput("a samplesheet that does not exist", _sheet("none.csv"), "does not exist"),
        BadInput("a samplesheet missing a column", _sheet("missing-column.csv"), "row 1: missing column fastq_2"),
        BadInput("a samplesheet with a sample twice", _sheet("duplicates.csv"),
                 "column sample: 'BADDUP1' appears 2 times (row 2, row 4)"),
    )

    def __init__(self) -> None:
        self._runs = 0
        self._sheets_in: object | None = None          # the cloud the malformed samplesheets were written to

    @property
    def stacks(self) -> dict[str, Any]:              # type: ignore[override]
        return {"primary": GivenNetwork()}            # made in the cloud being deployed

    def prepare(self, cloud: Any) -> Run:
        self._runs += 1
        prefix = f"K{self._runs:03d}S"
        rows = cohort(prefix, SAMPLES)
        if self._sheets_in is not LocalCloud._active:
            for name, text in BAD_SHEETS.items():
                put_sheet(f"{SHEETS}/{name}", text)
            self._sheets_in = LocalCloud._active
        return Run(prefix, [r[0] for r in rows], put_sheet(f"catalogue/run-{self._runs:03d}.csv", rows))

    def start(self, cloud: Any, run: Run) -> None:
        cloud.start(self.state_machine(cloud), {"samplesheet": run.sheet, **shared_input()})

    def rerun(self, cloud: Any, run: Run, failed: list[dict]) -> None:
        """The README's way back from a failed cohort: the same input, resumed."""
        for execution in failed:
            cloud.start(execution["stateMachineArn"], {**execution["input"], "resume": True})

    def expected(self, cloud: Any, run: Run) -> dict:
        return {"jobs": {s: {t: 1 for t in TOOLS} for s in run.samples}, "done": run.samples,
                "elsewhere": self.observe(cloud, run)["elsewhere"]}   # fault rows judge the run's samples only

    def observe(self, cloud: Any, run: Run) -> dict:
        ours = jobs_of_samples(run.prefix)
        succeeded: dict[str, dict[str, int]] = {}
        for job in ours:
            if job["status"] == "SUCCEEDED":
                tools = succeeded.setdefault(job["tags"]["opsflows:sample"], {})
                tools[job["tags"]["opsflows:tool"]] = tools.get(job["tags"]["opsflows:tool"], 0) + 1
        return {"jobs": succeeded, "done": [s for s in done_markers() if s in run.samples],
                "elsewhere": {"jobs": job_count() - len(ours), "objects": _objects(cloud)}}

    def violations(self, cloud: Any, run: Run) -> list[str]:
        made = jobs_of_samples(run.prefix)
        found = []
        by_run: dict[tuple[str, str], dict[str, list[dict]]] = {}
        for job in made:
            tags = job["tags"]
            by_run.setdefault((tags.get("opsflows:execution"), tags.get("opsflows:sample")), {}).setdefault(
                tags.get("opsflows:tool"), []).append(job)
        succeeded: dict[tuple[str, str], int] = {}
        for (execution, sample), tools in by_run.items():
            for tool, after in (("strelka", "isaac"), ("samtoolsStats", "isaac"), ("snpEff", "strelka")):
                if tool in tools and not any(j["status"] == "SUCCEEDED" for j in tools.get(after, [])):
                    found.append(f"{sample}: {tool} submitted although {after} did not succeed")
            for tool, runs in tools.items():
                key = (sample, tool)
                succeeded[key] = succeeded.get(key, 0) + sum(j["status"] == "SUCCEEDED" for j in runs)
        found += [f"{s}: {t} SUCCEEDED {n} times (work done twice)" for (s, t), n in succeeded.items() if n > 1]
        for sample in done_markers():
            if sample in run.samples and any(succeeded.get((sample, t), 0) == 0 for t in TOOLS):
                found.append(f"{sample}: marked done although not all four jobs SUCCEEDED")
        return found


def _objects(cloud: Any) -> int:
    """Objects in the results bucket and the state bucket (a malformed input must write none)."""
    s3 = cloud.client("s3")
    buckets = [RESULTS_BUCKET, *[b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("genomics-state")]]
    return sum(page.get("KeyCount", 0) for b in buckets for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b))
