"""The genomics pipeline end to end in the local cloud: samples in (one, a list, a CSV or JSON Lines samplesheet),
Batch jobs, done markers, the cohort report in S3, execution status and alerts out.

One deployment serves the module (deploying is most of a test's time): each test reads only the jobs, reports and
alerts of its own executions (sample ids differ per test), and the job outcomes it sets end with its `with` block.
"""
from __future__ import annotations

import pytest

from localcloud import LocalCloud
from localcloud.patches.batch import fail_jobs, hold_jobs
from localcloud.patches.sfn_map_child_executions import children
from localcloud.scenarios.genomics import (INPUT_BUCKET, RESULTS_BUCKET, RESULTS_PATH, cohort, done_markers,
                                           genomics_config, jobs_by_sample, network, put_sheet, report, sample_input,
                                           shared_input)

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
        (report_fn,) = [r for r in self.deployment.of_type("aws:lambda/function:Function") if r.name.startswith("genomics-report")]
        self.report_function = report_fn.outputs["arn"]

    def run(self, execution_input: dict) -> dict:
        self.cloud.metrics.reset()
        arn = self.cloud.start(self.arn, execution_input)
        self.cloud.run_until_idle()
        return self.cloud.execution(arn)

    def alerts_of(self, execution: dict) -> list[dict]:
        return [a for a in self.cloud.alerts() if execution["arn"] in a["message"]]

    def tolerating(self, percent: float) -> None:
        """What `pulumi up` does when opsflows:genomics.toleratedFailedSamplesPercent changes: the report
        function's configuration."""
        lam = self.cloud.client("lambda")
        variables = lam.get_function_configuration(FunctionName=self.report_function)["Environment"]["Variables"]
        lam.update_function_configuration(FunctionName=self.report_function, Environment={"Variables": {
            **variables, "TOLERATED_FAILED_PERCENT": f"{percent:g}"}})


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
    ran = jobs_by_sample(execution["arn"])["NA12878"]
    assert sorted(ran) == sorted(PIPELINE) and {j["status"] for j in ran.values()} == {"SUCCEEDED"}
    assert ran["isaac"]["createdAt"] <= min(ran[t]["createdAt"] for t in ("strelka", "samtoolsStats"))
    assert ran["strelka"]["createdAt"] <= ran["snpEff"]["createdAt"]
    results = f"{RESULTS_PATH}/NA12878"
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
    name = execution["arn"].rsplit(":", 1)[1]
    assert all(j["tags"] == {"opsflows:sample": "NA12878", "opsflows:execution": name, "opsflows:tool": t}
               for t, j in ran.items())
    assert execution["output"]["counts"] == {"samples": 1, "succeeded": 1, "failed": 0, "skipped": 0}
    assert execution["output"]["report"]["json"] == f"{RESULTS_PATH}/{name}/report.json"
    (entry,) = report(execution["arn"])["samples"]
    assert (entry["sampleId"], entry["status"]) == ("NA12878", "SUCCEEDED")
    assert {t: j["jobId"] for t, j in entry["jobs"].items()} == {t: ran[t]["jobId"] for t in PIPELINE}
    assert entry["outputs"] == {"bam": f"{results}/bam/", "vcf": f"{results}/vcf",
                                "annotatedVcf": f"{results}/annotated_vcf/output.annotated.vcf",
                                "bamStats": f"{results}/stats/bam_stats.dat"}
    (child,) = children(execution["arn"])
    assert "Wait" not in execution["states"] + child["states"]
    assert sum(cloud.metrics.lambda_invocations.values()) == 2             # plan and report, none per sample
    assert genomics.alerts_of(execution) == []


def test_several_samples_each_get_their_jobs_with_shared_defaults(cloud, genomics):
    samples = [{"sampleId": f"S{i}", "fastq1S3Path": f"s3://{INPUT_BUCKET}/fastq/S{i}_1.fastq.gz",
                "fastq2S3Path": f"s3://{INPUT_BUCKET}/fastq/S{i}_2.fastq.gz"} for i in range(3)]
    samples[2]["snpEff"] = {"cmdArgs": " -t GRCh37 "}                 # a sample's own field wins

    execution = genomics.run({**shared_input(), "samples": samples})

    assert execution["status"] == "SUCCEEDED"
    ran = jobs_by_sample(execution["arn"])
    assert sorted(ran) == ["S0", "S1", "S2"]
    for i in range(3):
        assert sorted(ran[f"S{i}"]) == sorted(PIPELINE)
        assert ran[f"S{i}"]["isaac"]["container"]["command"][3] == f"s3://{INPUT_BUCKET}/fastq/S{i}_1.fastq.gz"
    assert ran["S1"]["snpEff"]["container"]["command"][-1] == " -t hg38 "
    assert ran["S2"]["snpEff"]["container"]["command"][-1] == " -t GRCh37 "
    assert [s["sampleId"] for s in report(execution["arn"])["samples"]] == ["S0", "S1", "S2"]
    assert [c["states"].count("Isaac") for c in children(execution["arn"])] == [1, 1, 1]
    assert execution["states"].count("Plan") == 1 and genomics.alerts_of(execution) == []


@pytest.mark.parametrize("reason", [
    "Essential container in task exited",
    "Terminated by JobStateTimeLimit action due to reason: MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",  # cancelled
])
def test_failed_isaac_job_fails_the_execution_with_one_alert_and_nothing_downstream(cloud, genomics, reason):
    with fail_jobs("isaac-NA12878", reason=reason):
        execution = genomics.run(sample_input("NA12878"))

    assert execution["status"] == "FAILED" and execution["error"] == "BatchJobFailed"
    ran = jobs_by_sample(execution["arn"])["NA12878"]
    assert list(ran) == ["isaac"] and ran["isaac"]["status"] == "FAILED"
    (alert,) = genomics.alerts_of(execution)
    for detail in ("sample NA12878", "isaac", ran["isaac"]["jobId"], reason, execution["arn"]):
        assert detail in alert["message"]
    assert alert["attributes"]["error"] == "BatchJobFailed"
    (entry,) = report(execution["arn"])["samples"]
    assert entry["status"] == "FAILED" and entry["failures"] == [
        {"tool": "isaac", "jobId": ran["isaac"]["jobId"], "status": "FAILED", "reason": reason}]


def test_a_failed_strelka_job_stops_only_its_snpeff(cloud, genomics):
    with fail_jobs("strelka-*", reason="OutOfMemoryError: Container killed due to memory usage"):
        execution = genomics.run(sample_input("STRELKA_OOM"))

    assert execution["status"] == "FAILED"
    ran = jobs_by_sample(execution["arn"])["STRELKA_OOM"]
    assert "snpEff" not in ran and ran["strelka"]["status"] == "FAILED"
    assert ran["samtoolsStats"]["status"] == "SUCCEEDED"                  # not downstream of strelka: it ran
    (alert,) = genomics.alerts_of(execution)
    assert "strelka job " + ran["strelka"]["jobId"] in alert["message"] and "OutOfMemoryError" in alert["message"]
    assert "STRELKA_OOM" not in done_markers()               # a failed sample is never marked done


def test_a_done_marker_that_cannot_be_written_fails_its_sample(cloud, genomics):
    cloud.inject("s3.PutObject@_opsflows/done/MARKER1=AccessDenied")
    try:
        execution = genomics.run(sample_input("MARKER1"))
    finally:
        cloud.clear_errors()

    assert execution["status"] == "FAILED" and execution["error"] == "SamplesFailed"   # its jobs did succeed...
    assert {j["status"] for j in jobs_by_sample(execution["arn"])["MARKER1"].values()} == {"SUCCEEDED"}
    (entry,) = report(execution["arn"])["samples"]            # ...but resume could not know: it will run it again
    assert entry["status"] == "FAILED" and entry["failures"][0]["tool"] == "doneMarker"
    assert "AccessDenied" in entry["failures"][0]["reason"] and "MARKER1" not in done_markers()
    assert len(genomics.alerts_of(execution)) == 1


def test_one_failing_sample_of_a_csv_cohort_stops_only_itself_and_resume_reruns_only_it(cloud, genomics):
    rows = [(*row, "auto") for row in cohort("CSV", 8)]                # an extra nf-core column, ignored
    sheet = put_sheet("sheets/one-fails.csv", rows)
    with fail_jobs("isaac-CSV0005", reason="CannotPullContainerError: pull image manifest has been retried"):
        execution = genomics.run({"samplesheet": sheet, **shared_input()})

    assert execution["status"] == "FAILED" and execution["error"] == "BatchJobFailed"
    ran = jobs_by_sample(execution["arn"])
    assert sorted(ran) == [r[0] for r in rows]
    assert list(ran["CSV0005"]) == ["isaac"]
    assert all(sorted(ran[s]) == sorted(PIPELINE) and {j["status"] for j in ran[s].values()} == {"SUCCEEDED"}
               for s in ran if s != "CSV0005")
    (alert,) = genomics.alerts_of(execution)
    assert f"sample CSV0005: isaac job {ran['CSV0005']['isaac']['jobId']} FAILED: CannotPullContainerError" \
        in alert["message"] and "1 of 8 samples failed" in alert["message"]
    found = report(execution["arn"])
    assert found["counts"] == {"samples": 8, "succeeded": 7, "failed": 1, "skipped": 0}
    assert [(s["sampleId"], s["source"], s["status"]) for s in found["samples"]] == [
        (r[0], f"row {i + 2}", "FAILED" if r[0] == "CSV0005" else "SUCCEEDED") for i, r in enumerate(rows)]
    assert [s for s in done_markers() if s.startswith("CSV")] == [r[0] for r in rows if r[0] != "CSV0005"]

    rows[2] = ("CSV0002", rows[2][1].replace("_R1", "_L002_R1"), *rows[2][2:])    # its reads changed since
    put_sheet("sheets/one-fails.csv", rows)
    resumed = genomics.run({"samplesheet": sheet, "resume": True, **shared_input()})

    assert resumed["status"] == "SUCCEEDED"
    assert sorted(jobs_by_sample(resumed["arn"])) == ["CSV0002", "CSV0005"]
    assert resumed["output"]["counts"] == {"samples": 8, "succeeded": 2, "failed": 0, "skipped": 6}
    assert [(s["sampleId"], s["status"]) for s in report(resumed["arn"])["samples"]] == [
        (r[0], "SUCCEEDED" if r[0] in ("CSV0002", "CSV0005") else "SKIPPED") for r in rows]


def test_a_jsonl_samplesheet_with_per_sample_fields(cloud, genomics):
    lines = [{"sampleId": s, "fastq1S3Path": r1, "fastq2S3Path": r2} for s, r1, r2 in cohort("JL", 3)]
    lines[1]["strelka"] = {"cmdArgs": " --rna "}
    execution = genomics.run({"samplesheet": put_sheet("sheets/three.jsonl", lines), **shared_input()})

    assert execution["status"] == "SUCCEEDED"
    ran = jobs_by_sample(execution["arn"])
    assert sorted(ran) == ["JL0000", "JL0001", "JL0002"]
    assert ran["JL0001"]["strelka"]["container"]["command"][-1] == " --rna "
    assert ran["JL0002"]["strelka"]["container"]["command"][-1] == " --exome "
    assert [s["source"] for s in report(execution["arn"])["samples"]] == ["line 1", "line 2", "line 3"]


def test_tolerated_failures_end_succeeded_and_are_still_reported(cloud, genomics):
    sheet = put_sheet("sheets/tolerated.csv", cohort("TOL", 5))
    genomics.tolerating(20)
    try:
        with fail_jobs("snpEff-TOL0003"):
            execution = genomics.run({"samplesheet": sheet, **shared_input()})
    finally:
        genomics.tolerating(0)

    assert execution["status"] == "SUCCEEDED" and genomics.alerts_of(execution) == []
    assert execution["output"]["counts"] == {"samples": 5, "succeeded": 4, "failed": 1, "skipped": 0}
    assert execution["output"]["failedSamples"] == ["TOL0003"]
    assert report(execution["arn"])["samples"][3]["failures"][0]["tool"] == "snpEff"


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
    assert jobs_by_sample(execution["arn"]) == {}                        # not even the good sample's
    assert "Samples" not in execution["states"]
    (alert,) = genomics.alerts_of(execution)
    assert reason in alert["message"] and alert["attributes"]["state"] == "Plan"


def test_an_invalid_samplesheet_submits_nothing_and_names_row_and_column(cloud, genomics):
    rows = cohort("BAD", 26)
    rows[20] = ("BAD0020", f"s3://not-an-input-bucket/{rows[20][1].split('/', 3)[3]}", rows[20][2])
    rows[25] = ("BAD0003", *rows[25][1:])
    execution = genomics.run({"samplesheet": put_sheet("sheets/bad.csv", rows), **shared_input()})

    assert execution["status"] == "FAILED" and execution["error"] == "InvalidSampleInput"
    assert "samplesheet row 22, column fastq_1: got 's3://not-an-input-bucket/" in execution["cause"]
    assert "samplesheet column sample: 'BAD0003' appears 2 times (row 5, row 27)" in execution["cause"]
    assert jobs_by_sample(execution["arn"]) == {} and "Samples" not in execution["states"]
    assert len(genomics.alerts_of(execution)) == 1


def test_the_report_goes_under_a_top_level_results_path_only_in_the_results_bucket(cloud, genomics):
    # Every sample has its own resultsS3Path, so the top-level one is never checked as a sample's: the report
    # must not follow it into a bucket the stack only reads (it goes under the first sample's results path).
    own = f"{RESULTS_PATH}/own"
    execution = genomics.run({**shared_input(resultsS3Path=f"s3://{INPUT_BUCKET}/reports"),
                              "samples": [sample_input("OWNRESULTS", resultsS3Path=own)]})

    assert execution["status"] == "SUCCEEDED"
    name = execution["arn"].rsplit(":", 1)[1]
    assert execution["output"]["report"]["json"] == f"{own}/{name}/report.json"
    assert [s["sampleId"] for s in report(execution["arn"], results=own)["samples"]] == ["OWNRESULTS"]
    assert cloud.client("s3").list_objects_v2(Bucket=INPUT_BUCKET, Prefix="reports/")["KeyCount"] == 0

def test_state_transitions_do_not_grow_with_job_duration(genomics):
    quick = genomics.run(sample_input("QUICK"))
    quick_polls = genomics.cloud.metrics.api_calls["batch.DescribeJobs"]
    with hold_jobs(describes=2):                       # every job is RUNNING at its first status check
        slow = genomics.run(sample_input("SLOW"))
    slow_polls = genomics.cloud.metrics.api_calls["batch.DescribeJobs"]

    assert quick["status"] == slow["status"] == "SUCCEEDED"
    assert (quick_polls, slow_polls) == (4, 8)         # the jobs did run longer...
    (quick_child,), (slow_child,) = children(quick["arn"]), children(slow["arn"])
    assert len(slow["states"]) == len(quick["states"]) == 6                          # ...for the same transitions
    assert len(slow_child["states"]) == len(quick_child["states"]) == 10
    assert RESULTS_BUCKET in quick["output"]["report"]["csv"]
