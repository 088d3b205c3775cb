"""The genomics report handler against moto S3: a Map Run's result files (as AWS's ResultWriter writes them) read
one child at a time, the report written under the results path, and the verdict (tolerance, the alert's cause)."""
from __future__ import annotations

import csv
import io
import json

import boto3
import pytest
from moto import mock_aws

from genomics.report import build
from genomics.results import iter_array
from localcloud import patches

REGION, STATE, RESULTS = "us-west-2", "lab-state", "lab-results"
TOOLS = ("isaac", "strelka", "snpEff", "samtoolsStats")
MACHINE = "arn:aws:states:us-west-2:123456789012:stateMachine:genomics-flow/run"


@pytest.fixture(scope="module")
def buckets():
    patches.apply_all()
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        for bucket in (STATE, RESULTS):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


@pytest.fixture(autouse=True)
def s3(buckets, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    return buckets


def planned(i: int) -> dict:
    sid = f"S{i:03d}"
    return {"sampleId": sid, "index": i, "source": f"row {i + 2}", "outputs": {"bam": f"s3://{RESULTS}/r/{sid}/bam/"},
            "done": {"bucket": RESULTS, "key": f"r/_opsflows/done/{sid}/f.json"}}


def job(tool: str, i: int) -> dict:
    return {"jobId": f"{tool}-{i}", "status": "SUCCEEDED", "startedAt": 1_000, "stoppedAt": 61_000}


def child(i: int, failed: str | None = None, not_submitted: bool = False) -> dict:
    """A child execution's entry in a result file, ending with its sample's verdict."""
    jobs = {t: job(t, i) for t in TOOLS}
    verdict = {"sampleId": f"S{i:03d}", "status": "SUCCEEDED", "jobs": jobs, "failed": None}
    if failed:
        description = {"JobId": f"{failed}-{i}", "Status": "FAILED", "StatusReason": "Essential container in task exited",
                       "StartedAt": 1_000, "StoppedAt": 2_000}
        caught = {"tool": failed, "error": "States.TaskFailed", "cause": json.dumps(description)}
        if not_submitted:
            caught = {"tool": failed, "error": "Batch.ClientException", "cause": "JobQueue is DISABLED"}
        downstream = {"isaac": TOOLS, "strelka": ("strelka", "snpEff"), "snpEff": ("snpEff",)}.get(failed, (failed,))
        verdict.update(status="FAILED", jobs={t: j for t, j in jobs.items() if t not in downstream},
                       failed=caught if failed == "isaac" else [caught, None])
    return {"ExecutionArn": f"{MACHINE.replace('stateMachine', 'execution')}:c{i}", "Name": f"c{i}",
            "Input": json.dumps({"sample": planned(i), "execution": "run"}), "InputDetails": {"Included": True},
            "Status": "SUCCEEDED", "StartDate": "2026-01-01T00:00:00.000Z", "StopDate": "2026-01-01T00:02:00.500Z",
            "Output": json.dumps(verdict), "OutputDetails": {"Included": True}}


def map_run(s3, entries: list[dict], per_file: int = 1000) -> dict:
    """The Map state's result after its ResultWriter wrote `entries` (files of `per_file` children)."""
    files = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for status in ("SUCCEEDED", "FAILED"):
        mine = [e for e in entries if (e["Status"] == "SUCCEEDED") == (status == "SUCCEEDED")]
        for n in range(0, len(mine), per_file):
            key = f"runs/run/map/id/{status}_{n // per_file}.json"
            body = json.dumps(mine[n:n + per_file]).encode()
            s3.put_object(Bucket=STATE, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    s3.put_object(Bucket=STATE, Key="runs/run/map/id/manifest.json", Body=json.dumps(
        {"DestinationBucket": STATE, "MapRunArn": "arn:aws:states:::mapRun:x", "ResultFiles": files}).encode())
    return {"MapRunArn": "arn:aws:states:::mapRun:x", "ResultWriterDetails": {"Bucket": STATE,
                                                                             "Key": "runs/run/map/id/manifest.json"}}


def state(results: dict | None, samples: int, skipped: list[dict] | None = None) -> dict:
    return {"run": {"execution": "run"}, "plan": {"bucket": STATE, "key": "runs/run/plan.json"},
            "skipped": {"bucket": STATE, "key": "runs/run/skipped.json"} if skipped else None,
            "report": {"bucket": RESULTS, "json": "r/run/report.json", "csv": "r/run/report.csv"},
            "samplesheet": "s3://lab-inputs/cohort.csv",
            "counts": {"samples": samples, "toRun": samples - len(skipped or []), "skipped": len(skipped or [])},
            **({"results": results} if results else {})}


def written(s3) -> tuple[dict, list[dict]]:
    report = json.loads(s3.get_object(Bucket=RESULTS, Key="r/run/report.json")["Body"].read())
    rows = list(csv.DictReader(io.StringIO(s3.get_object(Bucket=RESULTS, Key="r/run/report.csv")["Body"].read().decode())))
    return report, rows


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_a_result_file_is_read_one_value_at_a_time_across_chunk_boundaries(chunk):
    values = [child(i) for i in range(5)] + [{"nested": [1, {"a": "]},["}]}]
    assert list(iter_array(io.StringIO(" \n" + json.dumps(values, indent=1)), chunk=chunk)) == values
    assert list(iter_array(io.StringIO("[]"), chunk=chunk)) == []
    with pytest.raises(ValueError):
        list(iter_array(io.StringIO('[{"a": 1} {"b": 2}]'), chunk=chunk))


def test_a_cohort_with_one_failed_sample_is_reported_whole_and_fails_with_its_line(s3):
    entries = [child(i, failed="strelka" if i == 7 else None) for i in range(12)]
    result = build(state(map_run(s3, entries[::-1], per_file=5), 12), "arn:exec", tolerated=0)

    assert result["passed"] is False and result["failure"]["Error"] == "BatchJobFailed"
    cause = result["failure"]["Cause"]
    assert cause.startswith("1 of 12 samples failed (toleratedFailedSamplesPercent 0); 11 succeeded, 0 skipped")
    assert "sample S007: strelka job strelka-7 FAILED: Essential container in task exited" in cause
    report, rows = written(s3)
    assert report["counts"] == {"samples": 12, "succeeded": 11, "failed": 1, "skipped": 0}
    assert [s["sampleId"] for s in report["samples"]] == [f"S{i:03d}" for i in range(12)]      # input order
    failed = report["samples"][7]
    assert failed["status"] == "FAILED" and sorted(failed["jobs"]) == ["isaac", "samtoolsStats", "strelka"]
    assert failed["jobs"]["strelka"] == {"jobId": "strelka-7", "status": "FAILED", "seconds": 1.0}
    assert report["samples"][0]["jobs"]["isaac"]["seconds"] == 60.0 and report["samples"][0]["seconds"] == 120.5
    assert report["samples"][0]["doneMarker"] == f"s3://{RESULTS}/r/_opsflows/done/S000/f.json"
    assert (rows[7]["sample"], rows[7]["status"], rows[7]["failed_tools"], rows[7]["snpEff_job_id"]) == (
        "S007", "FAILED", "strelka", "")
    assert rows[0]["isaac_job_id"] == "isaac-0" and rows[0]["source"] == "row 2"


@pytest.mark.parametrize("failures, tolerated, passed", [
    (1, 10, True), (2, 10, False), (1, 0, False), (0, 0, True), (5, 50, True),
])
def test_failures_within_the_tolerated_percentage_pass_but_are_reported(s3, failures, tolerated, passed):
    entries = [child(i, failed="isaac" if i < failures else None) for i in range(10)]
    result = build(state(map_run(s3, entries), 10), "arn:exec", tolerated=tolerated)
    assert result["passed"] is passed
    assert result["output"]["counts"]["failed"] == failures
    assert result["output"]["failedSamples"] == [f"S{i:03d}" for i in range(failures)]
    assert written(s3)[0]["status"] == ("SUCCEEDED" if passed else "FAILED")


def test_the_alert_names_the_first_fifty_failed_samples_and_counts_the_rest(s3):
    entries = [child(i, failed="isaac") for i in range(60)]
    cause = build(state(map_run(s3, entries), 60), "arn:exec", tolerated=0)["failure"]["Cause"]
    assert "sample S049: isaac job isaac-49" in cause and "S050" not in cause
    assert cause.endswith("and 10 more failed samples (see the report)") and len(cause) < 32_768


def test_the_error_names_what_failed(s3):
    entries = [child(0, failed="isaac", not_submitted=True), child(1, failed="isaac"), child(2)]
    result = build(state(map_run(s3, entries[:1]), 1), "arn:exec", tolerated=0)
    assert result["failure"]["Error"] == "BatchJobNotSubmitted"
    assert "sample S000: isaac job not submitted: Batch.ClientException: JobQueue is DISABLED" in \
        result["failure"]["Cause"]
    assert build(state(map_run(s3, entries), 3), "arn:exec", tolerated=0)["failure"]["Error"] == "SamplesFailed"


def test_a_broken_child_execution_and_a_missing_result_fail_their_samples(s3):
    broken = {**child(1), "Status": "FAILED", "Error": "States.Runtime", "Cause": "boom"}
    del broken["Output"]
    s3.put_object(Bucket=STATE, Key="runs/run/plan.json", Body=json.dumps([planned(i) for i in range(3)]).encode())
    result = build(state(map_run(s3, [child(0), broken]), 3), "arn:exec", tolerated=0)
    assert result["failure"]["Error"] == "SamplesFailed"
    report, _ = written(s3)
    assert [(s["sampleId"], s["status"]) for s in report["samples"]] == [
        ("S000", "SUCCEEDED"), ("S001", "FAILED"), ("S002", "FAILED")]
    assert report["samples"][1]["failures"][0]["reason"] == "States.Runtime: boom"
    assert report["samples"][2]["failures"][0]["status"] == "NO_RESULT"


def test_samples_resume_skipped_are_reported_as_skipped_and_count_as_done(s3):
    skipped = [planned(0), planned(2)]
    s3.put_object(Bucket=STATE, Key="runs/run/skipped.json", Body=json.dumps(skipped).encode())
    result = build(state(map_run(s3, [child(1, failed="isaac")]), 3, skipped), "arn:exec", tolerated=34)
    assert result["passed"] is True and result["output"]["counts"] == {"samples": 3, "succeeded": 0, "failed": 1,
                                                                       "skipped": 2}
    assert [s["status"] for s in written(s3)[0]["samples"]] == ["SKIPPED", "FAILED", "SKIPPED"]
    everything_done = build(state(None, 2, skipped), "arn:exec", tolerated=0)        # nothing ran at all
    assert everything_done["passed"] is True and everything_done["output"]["counts"]["skipped"] == 2
