"""Genomics on AWS Batch: the seed's sample through Isaac -> [Strelka -> snpEff] + samtools stats, each a
.sync job. (A failing job is rehearsed by tests/workflows/test_genomics.py: its alert would be every other
scenario's too, since they share one cloud.)

The helpers here (the network the stack is given, its genomics config, the seed's sample input, the jobs a
run left in Batch) are shared by the genomics tests and bench.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

import boto3

from . import Play, scenario

REGION = "us-west-2"
RESULTS_BUCKET = "opsflows-genomics-results"
INPUT_BUCKET = "opsflows-genomics-inputs"
IMAGES = {tool: f"123456789012.dkr.ecr.{REGION}.amazonaws.com/genomics/{tool.lower()}:2017.05"
          for tool in ("isaac", "strelka", "snpeff", "samtoolsStats")}
TOOLS = ("isaac", "strelka", "snpEff", "samtoolsStats")


def network(region: str = REGION) -> tuple[str, str]:
    """(subnet id, security group id) of a new VPC: the network an account gives the stack (moto starts empty);
    and the account's input and results buckets, which the stack is given by name (made once)."""
    s3 = boto3.client("s3", region_name=region)
    for bucket in (INPUT_BUCKET, RESULTS_BUCKET):
        try:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    ec2 = boto3.client("ec2", region_name=region)
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
        "resultsS3Path": f"s3://{RESULTS_BUCKET}/genomic-workflow/results",
        "sampleId": sample_id,
        "workingDir": "/scratch",
        "isaac": {"referenceS3Path": f"s3://{INPUT_BUCKET}/reference/isaac/"},
        "samtoolsStats": {},
        "strelka": {"cmdArgs": " --exome "},
        "snpEff": {"cmdArgs": " -t hg38 "},
        **fields,
    }


def jobs(region: str = REGION) -> list[dict]:
    """Every Batch job in the region, described (tags, command, queue, definition, status), oldest first."""
    batch = boto3.client("batch", region_name=region)
    ids = [j["jobId"] for q in batch.describe_job_queues()["jobQueues"]
           for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
           for j in batch.list_jobs(jobQueue=q["jobQueueArn"], jobStatus=status)["jobSummaryList"]]
    described = [j for i in range(0, len(ids), 100) for j in batch.describe_jobs(jobs=ids[i:i + 100])["jobs"]]
    return sorted(described, key=lambda j: j["createdAt"])


class GivenNetwork(Mapping):
    """The rehearsal's primary-stack config: genomics on a network created in the running local cloud when
    the rehearsal reads this config (just before it deploys), since subnet ids exist only once made."""

    def __init__(self) -> None:
        self._config: dict | None = None

    def _made(self) -> dict:
        if self._config is None:
            self._config = genomics_config(*network())
        return self._config

    def __getitem__(self, key: str) -> Any:
        return self._made()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self._made())


@scenario("genomics", needs=("primary",), config={"primary": GivenNetwork()})
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
    play.check("no Wait state, no polling Lambda: one Lambda invocation for the plan",
               sum(cloud.metrics.lambda_invocations.values()) == 1 and "Wait" not in " ".join(execution["states"]))
    play.check("no alert was published", len(cloud.alerts()) == alerts_before, cloud.alerts()[alerts_before:])
    play.state(f"{REGION}: {len(made)} Batch jobs SUCCEEDED for sample NA12878_states_1 "
               f"({len(execution['states'])} state transitions)")
