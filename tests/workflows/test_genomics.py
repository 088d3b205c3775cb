"""The genomics pipeline end to end in the local cloud: samples in, Batch jobs, execution status and alerts out.

One deployment serves the module (deploying is most of a test's time): each test reads only the jobs and the
alerts of its own execution, and the job outcomes it sets end with its `with` block.
"""
from __future__ import annotations

import pytest

from localcloud import LocalCloud
from localcloud.patches.batch import fail_jobs, hold_jobs
from localcloud.scenarios.genomics import INPUT_BUCKET, RESULTS_BUCKET, genomics_config, jobs, network, \
    sample_input

PIPELINE = ["isaac", "strelka", "snpEff", "samtoolsStats"]


class Genomics:
    """Run samples through the deployed pipeline and read back what Batch ran for each."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.deployment = cloud.deploy("primary", config=genomics_config(*network()))
        self.arn = self.deployment.outputs["genomicsStateMachineArn"]
        self.queues = {r.name.rsplit("-", 1)[-1]: r.outputs["arn"]
                       for r in self.deployment.of_type("aws:batch/jobQueue:JobQueue")}
        self.definitions = {r.name.rsplit("-", 1)[-1]: r.outputs["arn"]
                            for r in self.deployment.of_type("aws:batch/jobDefinition:JobDefinition")}

    def run(self, execution_input: dict) -> dict:
        self.cloud.metrics.reset()
        arn = self.cloud.start(self.arn, execution_input)
        self.cloud.run_until_idle()
        return self.cloud.execution(arn)

    def alerts_of(self, execution: dict) -> list[dict]:
        return [a for a in self.cloud.alerts() if execution["arn"] in a["message"]]

    def jobs_of(self, execution: dict) -> dict[str, dict[str, dict]]:
        """sample id -> tool -> the Batch job, for the jobs this execution submitted."""
        name = execution["arn"].rsplit(":", 1)[1]
        found: dict[str, dict[str, dict]] = {}
        for job in jobs():
            if job["tags"].get("opsflows:execution") == name:
                found.setdefault(job["tags"]["opsflows:sample"], {})[job["tags"]["opsflows:tool"]] = job
        return found


@pytest.fixture(scope="module")
def genomics():
    with LocalCloud() as cloud:
        yield Genomics(cloud)


@pytest.fixture
def cloud(genomics):
    return genomics.cloud


def test_one_sample_runs_the_four_jobs_in_order_with_the_seed_commands(cloud, genomics):
    execution = genomics.run(sample_input("NA12878"))

    assert execution["status"] == "SUCCEEDED"
    ran = genomics.jobs_of(execution)["NA12878"]
    assert sorted(ran) == sorted(PIPELINE) and {j["status"] for j in ran.values()} == {"SUCCEEDED"}
    assert ran["isaac"]["createdAt"] <= min(ran[t]["createdAt"] for t in ("strelka", "samtoolsStats"))
    assert ran["strelka"]["createdAt"] <= ran["snpEff"]["createdAt"]
    results = f"s3://{RESULTS_BUCKET}/genomic-workflow/results/NA12878"
    assert ran["isaac"]["container"]["command"] == [
        "--bam_s3_folder_path", f"{results}/bam/",
        "--fastq1_s3_path", f"s3://{INPUT_BUCKET}/fastq/SRR1919605_1.fastq.gz",
        "--fastq2_s3_path", f"s3://{INPUT_BUCKET}/fastq/SRR1919605_2.fastq.gz",
        "--reference_s3_path", f"s3://{INPUT_BUCKET}/reference/isaac/",
        "--working_dir", "/scratch"]
    assert ran["snpEff"]["container"]["command"] == [
        "--vcf_s3_path", f"{results}/vcf/variants/variants.vcf.gz",
        "--annotated_vcf_s3_path", f"{results}/annotated_vcf/output.annotated.vcf",
        "--working_dir", "/scratch", "--cmd_args", " -t hg38 "]
    assert ran["samtoolsStats"]["container"]["command"][:2] == ["--bam_s3_path", f"{results}/bam/sorted.bam"]
    assert [ran[t]["jobQueue"] for t in PIPELINE] == [genomics.queues[q] for q in ("high", "high", "low", "low")]
    assert {t: ran[t]["jobDefinition"] for t in PIPELINE} == {t: genomics.definitions[t.lower()] for t in PIPELINE}
    assert {t: ran[t]["jobName"] for t in PIPELINE} == {t: f"{t}-NA12878" for t in PIPELINE}
    assert execution["output"]["samples"] == [{
        "sampleId": "NA12878", "jobs": {t: ran[t]["jobId"] for t in PIPELINE},
        "outputs": {"bam": f"{results}/bam/", "vcf": f"{results}/vcf",
                    "annotatedVcf": f"{results}/annotated_vcf/output.annotated.vcf",
                    "bamStats": f"{results}/stats/bam_stats.dat"}}]
    assert "Wait" not in execution["states"] and sum(cloud.metrics.lambda_invocations.values()) == 1
    assert genomics.alerts_of(execution) == []


def test_several_samples_each_get_their_jobs_with_shared_defaults(cloud, genomics):
    shared = sample_input()
    del shared["sampleId"], shared["fastq1S3Path"], shared["fastq2S3Path"]
    samples = [{"sampleId": f"S{i}", "fastq1S3Path": f"s3://{INPUT_BUCKET}/fastq/S{i}_1.fastq.gz",
                "fastq2S3Path": f"s3://{INPUT_BUCKET}/fastq/S{i}_2.fastq.gz"} for i in range(3)]
    samples[2]["snpEff"] = {"cmdArgs": " -t GRCh37 "}                 # a sample's own field wins

    execution = genomics.run({**shared, "samples": samples})

    assert execution["status"] == "SUCCEEDED"
    ran = genomics.jobs_of(execution)
    assert sorted(ran) == ["S0", "S1", "S2"]
    for i in range(3):
        assert sorted(ran[f"S{i}"]) == sorted(PIPELINE)
        assert ran[f"S{i}"]["isaac"]["container"]["command"][3] == f"s3://{INPUT_BUCKET}/fastq/S{i}_1.fastq.gz"
    assert ran["S1"]["snpEff"]["container"]["command"][-1] == " -t hg38 "
    assert ran["S2"]["snpEff"]["container"]["command"][-1] == " -t GRCh37 "
    assert [s["sampleId"] for s in execution["output"]["samples"]] == ["S0", "S1", "S2"]
    assert execution["states"].count("Isaac") == 3 and execution["states"].count("Plan") == 1
    assert sum(cloud.metrics.lambda_invocations.values()) == 1 and genomics.alerts_of(execution) == []


@pytest.mark.parametrize("reason", [
    "Essential container in task exited",
    "Terminated by JobStateTimeLimit action due to reason: MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",  # cancelled
])
def test_failed_isaac_job_fails_the_execution_with_one_alert_and_nothing_downstream(cloud, genomics, reason):
    with fail_jobs("isaac-NA12878", reason=reason):
        execution = genomics.run(sample_input("NA12878"))

    assert execution["status"] == "FAILED" and execution["error"] == "BatchJobFailed"
    ran = genomics.jobs_of(execution)["NA12878"]
    assert list(ran) == ["isaac"] and ran["isaac"]["status"] == "FAILED"
    (alert,) = genomics.alerts_of(execution)
    for detail in ("sample NA12878", "isaac", ran["isaac"]["jobId"], reason, execution["arn"]):
        assert detail in alert["message"]
    assert alert["attributes"]["error"] == "BatchJobFailed"


def test_a_failed_strelka_job_submits_no_snpeff(cloud, genomics):
    with fail_jobs("strelka-*", reason="OutOfMemoryError: Container killed due to memory usage"):
        execution = genomics.run(sample_input("NA12878"))

    assert execution["status"] == "FAILED"
    ran = genomics.jobs_of(execution)["NA12878"]
    assert "snpEff" not in ran and ran["strelka"]["status"] == "FAILED"
    (alert,) = genomics.alerts_of(execution)
    assert "strelka job " + ran["strelka"]["jobId"] in alert["message"] and "OutOfMemoryError" in alert["message"]


@pytest.mark.parametrize("bad, reason", [
    ({"fastq2S3Path": None}, "fastq2S3Path: missing"),
    ({"fastq1S3Path": "https://example.com/reads_1.fastq.gz"}, "fastq1S3Path: got 'https://example.com"),
    ({"resultsS3Path": "s3://someone-elses-bucket/results"}, "may write only to the results bucket"),
])
def test_malformed_input_fails_before_any_job_is_submitted(cloud, genomics, bad, reason):
    good = sample_input("S0")
    broken = {**sample_input("S1"), **bad}
    execution = genomics.run({"samples": [good, {k: v for k, v in broken.items() if v is not None}]})

    assert execution["status"] == "FAILED" and execution["error"] == "InvalidSampleInput"
    assert reason in execution["cause"] and "samples[1]." in execution["cause"]
    assert genomics.jobs_of(execution) == {}                             # not even the good sample's
    assert "Samples" not in execution["states"]
    (alert,) = genomics.alerts_of(execution)
    assert reason in alert["message"] and alert["attributes"]["state"] == "Plan"


def test_state_transitions_do_not_grow_with_job_duration(genomics):
    quick = genomics.run(sample_input("QUICK"))
    quick_polls = genomics.cloud.metrics.api_calls["batch.DescribeJobs"]
    with hold_jobs(describes=2):                       # every job is RUNNING at its first status check
        slow = genomics.run(sample_input("SLOW"))
    slow_polls = genomics.cloud.metrics.api_calls["batch.DescribeJobs"]

    assert quick["status"] == slow["status"] == "SUCCEEDED"
    assert (quick_polls, slow_polls) == (4, 8)         # the jobs did run longer...
    assert len(slow["states"]) == len(quick["states"]) == 8       # ...for the same transitions
