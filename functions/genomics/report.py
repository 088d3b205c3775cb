"""The cohort report, written once every sample has ended: <resultsS3Path>/<execution>/report.json and .csv, one
entry per sample in input order (status, job id and duration per tool, failure reason, outputs), then the verdict.

    event:   {"state": <the execution's state after the Map>, "execution": <execution ARN>}
    returns: {"passed", "output" (the execution's output: the report and the counts), "failure" ({Error, Cause}
             for the one alert when the cohort fails)}

The cohort fails when a sample failed, unless the failed samples are at most toleratedFailedSamplesPercent of
the input's samples (skipped ones count as done). The alert's cause lists the first 50 failed samples (tool,
job id, status reason) and counts the rest; the report lists them all. The error is BatchJobFailed when every
failed sample had a job fail, BatchJobNotSubmitted when every one had a job Batch refused, SamplesFailed
otherwise.

Environment: TOLERATED_FAILED_PERCENT.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from typing import Any

from common.handler import lambda_handler

from . import s3io
from .results import EXECUTION, FAILED, JOB_FAILED, NOT_SUBMITTED, SKIPPED, SUCCEEDED, Failure, Outcome, \
    children, from_child, iter_array, skipped
from .sample import TOOLS

LISTED = 50                     # failed samples named in the alert (the report names them all)
MAX_CAUSE = 30_000              # a Fail state's cause holds 32,768 characters
CSV_COLUMNS = ["sample", "source", "status", "seconds",
               *[f"{tool}_{what}" for tool in TOOLS for what in ("job_id", "status", "seconds")],
               "failed_tools", "failure_reason", "done_marker"]


@dataclass(frozen=True)
class Row:
    """One sample as the report writes it, kept as text (a cohort of 100,000 is held in ~150 MB, not GBs)."""
    index: int
    sample_id: str
    status: str
    kinds: frozenset                  # what failed: JOB_FAILED, NOT_SUBMITTED, ...
    line: str                         # the alert's line (failed samples)
    json_text: str
    csv_text: str

    @classmethod
    def of(cls, o: Outcome) -> "Row":
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(_csv_row(o))
        return cls(o.index, o.sample_id, o.status, frozenset(f.kind for f in o.failures),
                   o.line() if o.failures else "", json.dumps(o.to_json(), separators=(",", ":")), line.getvalue())


def outcomes(state: dict) -> list[Row]:
    """Every sample of the run, in input order: what its child execution reported, or that resume skipped it."""
    found: list[Row] = []
    written = (state.get("results") or {}).get("ResultWriterDetails")
    if written:
        found += [Row.of(from_child(child)) for child in children(written["Bucket"], written["Key"])]
    if state.get("skipped"):
        with s3io.open_text(state["skipped"]["bucket"], state["skipped"]["key"]) as text:
            found += [Row.of(skipped(entry)) for entry in iter_array(text)]
    ran = {row.index for row in found}
    if len(ran) < state["counts"]["samples"]:             # a child with no result: failed, never silently lost
        with s3io.open_text(state["plan"]["bucket"], state["plan"]["key"]) as text:
            for item in iter_array(text):
                if item["index"] not in ran:
                    found.append(Row.of(Outcome(item["sampleId"], item["index"], item["source"], FAILED,
                                                outputs=item["outputs"], failures=[Failure(
                                                    EXECUTION, None, None, "NO_RESULT",
                                                    "the Map Run reported no result")])))
    return sorted(found, key=lambda row: row.index)


def verdict(found: list[Row], tolerated: float, report: dict, execution: str, total: int) -> dict:
    failed = [row for row in found if row.status == FAILED]
    counts = {"samples": total, "succeeded": sum(row.status == SUCCEEDED for row in found), "failed": len(failed),
              "skipped": sum(row.status == SKIPPED for row in found)}
    json_uri, csv_uri = (f"s3://{report['bucket']}/{report[k]}" for k in ("json", "csv"))
    passed = not failed or len(failed) * 100 <= tolerated * total
    output = {"execution": execution, "status": SUCCEEDED if passed else FAILED,
              "report": {"json": json_uri, "csv": csv_uri}, "counts": counts,
              "toleratedFailedSamplesPercent": tolerated, "failedSamples": [row.sample_id for row in failed[:LISTED]]}
    if passed:
        return {"passed": True, "output": output, "failure": None}
    kinds = {kind for row in failed for kind in row.kinds}
    error = JOB_FAILED if kinds == {JOB_FAILED} else NOT_SUBMITTED if kinds == {NOT_SUBMITTED} else "SamplesFailed"
    head = (f"{len(failed)} of {total} samples failed (toleratedFailedSamplesPercent {tolerated:g}); "
            f"{counts['succeeded']} succeeded, {counts['skipped']} skipped (resume); report {json_uri}")
    lines = [row.line for row in failed[:LISTED]]
    if len(failed) > LISTED:
        lines.append(f"and {len(failed) - LISTED} more failed samples (see the report)")
    cause = " | ".join([head, *lines])
    if len(cause) > MAX_CAUSE:
        cause = cause[:MAX_CAUSE] + " ... (see the report)"
    return {"passed": False, "output": output, "failure": {"Error": error, "Cause": cause}}


def write_report(found: list[Row], result: dict, state: dict) -> None:
    report = state["report"]
    with s3io.Spool() as out:
        output = result["output"]
        header = {"execution": output["execution"], "status": output["status"],
                  "samplesheet": state.get("samplesheet"), "counts": output["counts"],
                  "toleratedFailedSamplesPercent": output["toleratedFailedSamplesPercent"]}
        out.write("{\n" + "".join(f" {json.dumps(k)}: {json.dumps(v)},\n" for k, v in header.items())
                  + ' "samples": [')
        for i, row in enumerate(found):
            out.write(("\n  " if i == 0 else ",\n  ") + row.json_text)
        out.write("\n ]\n}\n")
        out.upload(report["bucket"], report["json"], "application/json")
    with s3io.Spool() as out:
        header_line = io.StringIO()
        csv.writer(header_line, lineterminator="\n").writerow(CSV_COLUMNS)
        out.write(header_line.getvalue())
        for row in found:
            out.write(row.csv_text)
        out.upload(report["bucket"], report["csv"], "text/csv")


def _csv_row(o: Outcome) -> list[Any]:
    cells: list[Any] = [o.sample_id, o.source, o.status, o.seconds]
    for tool in TOOLS:
        job = o.jobs.get(tool) or {}
        cells += [job.get("jobId"), job.get("status"), job.get("seconds")]
    return [*cells, " ".join(f.tool or "-" for f in o.failures), " | ".join(f.text() for f in o.failures), o.marker]


def build(state: dict, execution: str, tolerated: float) -> dict:
    found = outcomes(state)
    result = verdict(found, tolerated, state["report"], execution, state["counts"]["samples"])
    write_report(found, result, state)
    return result


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return build(event["state"], str(event.get("execution")), float(os.environ.get("TOLERATED_FAILED_PERCENT", "0")))
