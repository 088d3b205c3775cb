"""Genomics on AWS Batch: the seed's sample through Isaac -> [Strelka -> snpEff] + samtools stats, each a
.sync job; and a cohort: a samplesheet of a few hundred samples, one of which fails, run in one execution.

The helpers here (the network and buckets the stack is given, its genomics config, the seed's sample input,
samplesheets, the jobs a run left in Batch, its report) are shared by the genomics tests, bench and catalogue.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any, Iterable, Iterator


from ..patches.batch import fail_jobs
from ..resources import client
from ..patches.sfn_map_child_executions import children
from . import Play, scenario

REGION = "us-west-2"
RESULTS_BUCKET = "opsflows-genomics-results"
INPUT_BUCKET = "opsflows-genomics-inputs"
RESULTS_PATH = f"s3://{RESULTS_BUCKET}/genomic-workflow/results"
COHORT = 200                  # samples in the rehearsal's cohort
IMAGES = {tool: f"123456789012.dkr.ecr.{REGION}.amazonaws.com/genomics/{tool.lower()}:2017.05"
          for tool in ("isaac", "strelka", "snpeff", "samtoolsStats")}
TOOLS = ("isaac", "strelka", "snpEff", "samtoolsStats")


def network(region: str = REGION) -> tuple[str, str]:
    """(subnet id, security group id) of a new VPC: the network an account gives the stack (moto starts empty);
    and the account's input and results buckets, which the stack is given by name (made once)."""
    s3 = client("s3", region)
    for bucket in (INPUT_BUCKET, RESULTS_BUCKET):
        try:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    ec2 = client("ec2", region)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=f"{region}a")["Subnet"]
    group = ec2.create_security_group(GroupName="opsflows-genomics-batch", Description="Batch instances", VpcId=vpc)
    return subnet["SubnetId"], group["GroupId"]


def genomics_config(subnet: str, security_group: str, **settings: Any) -> dict:
    """The `opsflows:genomics` stack config enabling the pipeline on that network."""
    return {"opsflows:genomics": {
        "enabled": True, "subnetIds": [subnet], "securityGroupIds": [security_group], "images": IMAGES,
        "resultsBucket": RESULTS_BUCKET, "inputBuckets": [INPUT_BUCKET], "maxVcpus": 256, **settings}}


def sample_input(sample_id: str = "NA12878_states_1", **fields: Any) -> dict:
    """The seed's workflow/test.input.json, on this account's buckets (jobDefinition/jobQueue left to the stack)."""
    return {
        "fastq1S3Path": f"s3://{INPUT_BUCKET}/fastq/SRR1919605_1.fastq.gz",
        "fastq2S3Path": f"s3://{INPUT_BUCKET}/fastq/SRR1919605_2.fastq.gz",
        "referenceS3Path": f"s3://{INPUT_BUCKET}/reference/hg38.fa",
        "resultsS3Path": RESULTS_PATH,
        "sampleId": sample_id,
        "workingDir": "/scratch",
        "isaac": {"referenceS3Path": f"s3://{INPUT_BUCKET}/reference/isaac/"},
        "samtoolsStats": {},
        "strelka": {"cmdArgs": " --exome "},
        "snpEff": {"cmdArgs": " -t hg38 "},
        **fields,
    }


def shared_input(**fields: Any) -> dict:
    """The seed's input without the sample's own fields: what a samplesheet's samples share."""
    shared = sample_input(**fields)
    for name in ("sampleId", "fastq1S3Path", "fastq2S3Path"):
        if name not in fields:
            shared.pop(name)
    return shared


def reads(sample_id: str) -> tuple[str, str]:
    return (f"s3://{INPUT_BUCKET}/fastq/{sample_id}_R1.fastq.gz", f"s3://{INPUT_BUCKET}/fastq/{sample_id}_R2.fastq.gz")


def put_sheet(key: str, rows: Iterable[Any] | str, region: str = REGION) -> str:
    """Write a samplesheet to the input bucket; its s3:// URI. `rows`: text as is; for .csv, (sample, fastq_1,
    fastq_2, ...) tuples under an nf-core header (an extra `strandedness` column when rows have four cells); for
    .jsonl, sample objects."""
    if isinstance(rows, str):
        text = rows
    elif key.endswith(".jsonl"):
        text = "".join(json.dumps(r) + "\n" for r in rows)
    else:
        rows = list(rows)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["sample", "fastq_1", "fastq_2", "strandedness"][:max((len(r) for r in rows), default=3)])
        writer.writerows(rows)
        text = out.getvalue()
    client("s3", region).put_object(Bucket=INPUT_BUCKET, Key=key, Body=text.encode())
    return f"s3://{INPUT_BUCKET}/{key}"


def cohort(prefix: str, n: int) -> list[tuple[str, str, str]]:
    """n samplesheet rows: sample ids <prefix>0000, <prefix>0001, ... with their reads."""
    return [(f"{prefix}{i:04d}", *reads(f"{prefix}{i:04d}")) for i in range(n)]


def report(execution_arn: str, results: str = RESULTS_PATH, region: str = REGION) -> dict | None:
    """The cohort report of an execution (report.json under the results path), or None when none was written."""
    bucket, _, key = results.removeprefix("s3://").partition("/")
    name = execution_arn.rsplit(":", 1)[1]
    s3 = client("s3", region)
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{key.rstrip('/')}/{name}/report.json" if key else
                             f"{name}/report.json")["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    return json.loads(body.read())


def done_markers(results: str = RESULTS_PATH, region: str = REGION) -> list[str]:
    """The sample ids with a done marker under the results path (resume skips them)."""
    bucket, _, key = results.removeprefix("s3://").partition("/")
    prefix = f"{key.rstrip('/')}/_opsflows/done/" if key else "_opsflows/done/"
    pages = client("s3", region).get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                                              Prefix=prefix)
    return sorted({o["Key"][len(prefix):].split("/")[0] for page in pages for o in page.get("Contents", [])})


def jobs_by_sample(execution_arn: str, region: str = REGION) -> dict[str, dict[str, dict]]:
    """sample id -> tool -> the Batch job, for the jobs this execution submitted (by their tags)."""
    name = execution_arn.rsplit(":", 1)[1]
    found: dict[str, dict[str, dict]] = {}
    for job in jobs(region):
        if job["tags"].get("opsflows:execution") == name:
            found.setdefault(job["tags"]["opsflows:sample"], {})[job["tags"]["opsflows:tool"]] = job
    return found


def jobs_of_samples(prefix: str, region: str = REGION) -> list[dict]:
    """The Batch jobs (described) of the samples whose ids start with `prefix`, found by job name
    (`<tool>-<sample id>`), whatever their status."""
    batch = client("batch", region)
    ids = [j["jobId"] for q in batch.describe_job_queues()["jobQueues"] for tool in TOOLS
           for j in batch.list_jobs(jobQueue=q["jobQueueArn"], filters=[
               {"name": "JOB_NAME", "values": [f"{tool}-{prefix}*"]}])["jobSummaryList"]]
    return [j for i in range(0, len(ids), 100) for j in batch.describe_jobs(jobs=ids[i:i + 100])["jobs"]]


def job_count(region: str = REGION) -> int:
    """How many jobs the account's queues hold, ended or not."""
    batch = client("batch", region)
    every = [{"name": "JOB_NAME", "values": ["*"]}]            # with a filter, ListJobs lists every status
    return sum(len(batch.list_jobs(jobQueue=q["jobQueueArn"], filters=every)["jobSummaryList"])
               for q in batch.describe_job_queues()["jobQueues"])


def jobs(region: str = REGION) -> list[dict]:
    """Every Batch job in the region, described (tags, command, queue, definition, status), oldest first."""
    batch = client("batch", region)
    ids = [j["jobId"] for q in batch.describe_job_queues()["jobQueues"]
           for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
           for j in batch.list_jobs(jobQueue=q["jobQueueArn"], jobStatus=status)["jobSummaryList"]]
    described = [j for i in range(0, len(ids), 100) for j in batch.describe_jobs(jobs=ids[i:i + 100])["jobs"]]
    return sorted(described, key=lambda j: j["createdAt"])


class GivenNetwork(Mapping):
    """The primary-stack config enabling genomics on a network created in the running local cloud when the
    config is read (just before the stack deploys), since subnet ids exist only once made; made again for
    another cloud."""

    def __init__(self) -> None:
        self._config: dict | None = None
        self._cloud: object | None = None

    def _made(self) -> dict:
        from ..cloud import LocalCloud
        if self._config is None or self._cloud is not LocalCloud._active:
            self._config, self._cloud = genomics_config(*network()), LocalCloud._active
        return self._config

    def __getitem__(self, key: str) -> Any:
        return self._made()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self._made())


GIVEN = GivenNetwork()


@scenario("genomics", needs=("primary",), config={"primary": GIVEN})
def genomics(play: Play) -> None:
    """The seed's sample through the four Batch jobs, on the stack's queues, tagged, with the seed's commands."""
    cloud = play.cloud
    arn = play.output("primary", "genomicsStateMachineArn")
    resources = play.deployments["primary"]
    queues = {r.name.rsplit("-", 1)[-1]: r.outputs["arn"] for r in resources.of_type("aws:batch/jobQueue:JobQueue")}

    alerts_before = len(cloud.alerts())          # scenarios share one cloud
    run = cloud.start(arn, sample_input())
    cloud.run_until_idle()
    execution = cloud.execution(run)
    made = jobs()
    by_tool = {j["tags"].get("opsflows:tool"): j for j in made}
    play.check("the execution SUCCEEDED", execution["status"] == "SUCCEEDED", execution["cause"])
    play.check("four jobs ran, each SUCCEEDED",
               sorted(by_tool) == sorted(TOOLS) and all(j["status"] == "SUCCEEDED" for j in made),
               [(j["jobName"], j["status"]) for j in made])
    play.check("isaac and strelka on the high-priority queue, snpEff and samtools stats on the low one",
               [by_tool[t]["jobQueue"] for t in TOOLS] == [queues[q] for q in ("high", "high", "low", "low")])
    play.check("isaac ran first, snpEff after strelka",
               made[0]["jobName"].startswith("isaac-")
               and by_tool["snpEff"]["createdAt"] >= by_tool["strelka"]["createdAt"])
    play.check("every job is tagged with the sample and the execution",
               all(j["tags"].get("opsflows:sample") == "NA12878_states_1"
                   and j["tags"].get("opsflows:execution") == run.rsplit(":", 1)[1] for j in made))
    play.check("strelka reads the bam isaac wrote and passes the seed's --exome",
               by_tool["strelka"]["container"]["command"][1].endswith("/NA12878_states_1/bam/sorted.bam")
               and by_tool["strelka"]["container"]["command"][-2:] == ["--cmd_args", " --exome "])
    (child,) = children(run)
    play.check("no Wait state, no polling Lambda: two Lambda invocations (plan, report), none for the sample",
               sum(cloud.metrics.lambda_invocations.values()) == 2
               and "Wait" not in " ".join(execution["states"] + child["states"]))
    play.check("the report says the sample SUCCEEDED, with its four job ids",
               [(s["sampleId"], s["status"], sorted(j["jobId"] for j in s["jobs"].values()))
                for s in (report(run) or {}).get("samples", [])]
               == [("NA12878_states_1", "SUCCEEDED", sorted(j["jobId"] for j in made))])
    play.check("no alert was published", len(cloud.alerts()) == alerts_before, cloud.alerts()[alerts_before:])
    play.invariant("no job downstream of a failed one", not _downstream_of_failures(made))
    play.state(f"{REGION}: {len(made)} Batch jobs SUCCEEDED for sample NA12878_states_1 "
               f"({len(execution['states'])} + {len(child['states'])} state transitions: execution + sample)")


@scenario("genomics-cohort", needs=("primary",), config={"primary": GIVEN})
def genomics_cohort(play: Play) -> None:
    """A samplesheet of 200 samples in one execution, one sample's Isaac job failing: the other 199 run all
    four jobs, one alert names the failed sample, the report lists every sample; a resume runs only that one."""
    cloud = play.cloud
    arn = play.output("primary", "genomicsStateMachineArn")
    rows = cohort("C", COHORT)
    sheet = put_sheet("cohorts/rehearsal.csv", rows)
    failing = rows[COHORT // 2][0]
    alerts_before = len(cloud.alerts())
    with fail_jobs(f"isaac-{failing}", reason="Essential container in task exited"):
        run = cloud.start(arn, {"samplesheet": sheet, **shared_input()})
        cloud.run_until_idle(timeout=600)
    execution = cloud.execution(run)
    ran = jobs_by_sample(run)
    alerts = cloud.alerts()[alerts_before:]
    found = report(run) or {"samples": [], "counts": {}}
    others = [r[0] for r in rows if r[0] != failing]
    play.check("the execution ended FAILED (one sample failed, none tolerated)", execution["status"] == "FAILED",
               execution["status"])
    play.check(f"the other {len(others)} samples ran all four jobs, each SUCCEEDED",
               all(sorted(ran.get(s, {})) == sorted(TOOLS) and all(j["status"] == "SUCCEEDED" for j in ran[s].values())
                   for s in others), sorted(s for s in others if len(ran.get(s, {})) != 4)[:5])
    play.check("exactly one alert, naming the failed sample, its isaac job and the reason",
               len(alerts) == 1 and all(t in alerts[0]["message"] for t in (
                   f"sample {failing}", ran.get(failing, {}).get("isaac", {}).get("jobId", "?"),
                   "Essential container in task exited")), [a["message"][:300] for a in alerts])
    play.check("the report lists every sample in sheet order: 199 SUCCEEDED, 1 FAILED",
               [s["sampleId"] for s in found["samples"]] == [r[0] for r in rows]
               and found["counts"] == {"samples": COHORT, "succeeded": COHORT - 1, "failed": 1, "skipped": 0},
               found["counts"])
    kids = children(run)
    play.check("no execution's history nears 25,000 events",
               len(execution["history"]) < 100 and max(c["historyEvents"] for c in kids) < 100,
               (len(execution["history"]), max((c["historyEvents"] for c in kids), default=0)))
    play.invariant("nothing downstream of the failed Isaac job was submitted", list(ran.get(failing, {})) == ["isaac"],
                   sorted(ran.get(failing, {})))
    play.invariant("no job downstream of a failed one", not _downstream_of_failures([j for s in ran.values()
                                                                                      for j in s.values()]))

    rerun = cloud.start(arn, {"samplesheet": sheet, "resume": True, **shared_input()})
    cloud.run_until_idle(timeout=600)
    resumed = cloud.execution(rerun)
    again = jobs_by_sample(rerun)
    play.check("resume: SUCCEEDED, running only the failed sample's four jobs",
               resumed["status"] == "SUCCEEDED" and list(again) == [failing] and len(again[failing]) == 4,
               (resumed["status"], sorted(again)[:5]))
    play.check("resume: the counts say 199 skipped, 1 succeeded",
               (resumed["output"] or {}).get("counts") == {"samples": COHORT, "succeeded": 1, "failed": 0,
                                                         "skipped": COHORT - 1}, resumed["output"])
    play.state(f"{REGION}: {sum(len(s) for s in ran.values())} + {sum(len(s) for s in again.values())} Batch jobs "
               f"for a {COHORT}-sample sheet, then its resume; parent histories {len(execution['history'])} and "
               f"{len(resumed['history'])} events, the largest child's {max(c['historyEvents'] for c in kids)}")


def _downstream_of_failures(made: list[dict]) -> list[str]:
    """Jobs submitted although the job they follow (same sample and execution) did not succeed."""
    by_run: dict[tuple[str, str], dict[str, dict]] = {}
    for job in made:
        tags = job["tags"]
        by_run.setdefault((tags.get("opsflows:execution"), tags.get("opsflows:sample")), {})[tags["opsflows:tool"]] = job
    wrong = []
    for (execution, sample), ran in by_run.items():
        for tool, after in (("strelka", "isaac"), ("samtoolsStats", "isaac"), ("snpEff", "strelka")):
            if tool in ran and ran.get(after, {}).get("status") != "SUCCEEDED":
                wrong.append(f"{sample}: {tool} after {after} {ran.get(after, {}).get('status', 'never submitted')}")
    return wrong
