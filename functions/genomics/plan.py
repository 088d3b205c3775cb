"""Validate a genomics execution input and plan every sample's four jobs before any job is submitted; write the
plan where the Distributed Map reads it (the samples travel in S3, never in the execution's state).

    event:   {"input": <the execution input>, "execution": <the execution's name>}
    returns: {"run", "plan", "skipped", "report", "samplesheet", "counts", "resume"}: a few hundred bytes

One pass over the samples (a samplesheet is streamed): each is validated, planned (commands, queues, job
definitions, its fingerprint) and appended to runs/<execution>/plan.json in the state bucket, a JSON array the
Map's ItemReader reads. Every problem is collected (the first 50 listed, the rest counted) and, if there is
any, the plan is never uploaded and InvalidSampleInput names them: nothing is submitted. The plan is a snapshot
of what was validated: editing the sheet while the cohort runs changes nothing.

With `resume: true` a sample is skipped when its done marker exists: <resultsS3Path>/_opsflows/done/<sampleId>/
<fingerprint>.json, written by the workflow once all four of the sample's jobs SUCCEEDED, where the fingerprint
is a hash of the four jobs' job definitions (with revision) and commands (inputs, reference, outputs, cmdArgs,
memory). A sample whose inputs, arguments or tool images changed since has another fingerprint and runs again.
One listing of that folder per results path serves every sample (ceil(N/1000) requests).

Environment: RESULTS_BUCKET, INPUT_BUCKETS (comma-separated), JOB_DEFINITIONS (JSON tool -> ARN), JOB_QUEUES
(JSON {"high": ARN, "low": ARN}), STATE_BUCKET.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from common.aws import paginate
from common.handler import lambda_handler

from . import s3io
from .jobs import BatchResources, done_prefix, plan
from .sample import InvalidSampleInput, Problems, S3Uri, check_sample, reporter
from .sheet import parse_run, rows

UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
COMPACT = (",", ":")


class DoneMarkers:
    """The done markers under each results path, listed once per path (resume)."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], set[str]] = {}

    def has(self, results: S3Uri, sample_id: str, fingerprint: str) -> bool:
        where = (results.bucket, done_prefix(results))
        if where not in self._found:
            self._found[where] = {o["Key"][len(where[1]):] for o in paginate(
                s3io.s3(), "list_objects_v2", "Contents", Bucket=where[0], Prefix=where[1])}
        return f"{sample_id}/{fingerprint}.json" in self._found[where]


def plan_run(execution_input: Any, execution: str, *, batch: BatchResources, results_bucket: str,
             input_buckets: set[str], state_bucket: str) -> dict:
    problems = Problems()
    readable = input_buckets | {results_bucket}
    run = parse_run(execution_input, problems, readable)
    if run is None:
        problems.raise_if_any()
        raise InvalidSampleInput(["input: cannot be run"])
    name = folder_name(execution)
    prefix = f"runs/{name}/"
    first: dict[str, str] = {}                  # sample id -> where it first appeared
    repeated: dict[str, list[str]] = {}
    done = DoneMarkers() if run.resume else None
    report_to = _results_path(run.shared.get("resultsS3Path"), results_bucket)
    total, skipped = 0, []
    with s3io.Spool() as planned_file:
        for index, (where, raw) in enumerate(rows(run, problems)):
            total += 1
            sample_id = raw.get("sampleId") if isinstance(raw, dict) else None
            if isinstance(sample_id, str) and sample_id:
                if sample_id in first:
                    repeated.setdefault(sample_id, [first[sample_id]]).append(where.name)
                else:
                    first[sample_id] = where.name
            sample = check_sample(raw, where, problems, readable=readable, results_bucket=results_bucket)
            if sample is None:
                continue
            planned = plan(sample, batch, reporter(where, problems, sample_id))
            if planned is None or problems:
                continue                         # the run is refused: the rest is only validated
            report_to = report_to or sample.results
            planned.update(index=index, source=where.name)
            if done is not None and done.has(sample.results, sample.sample_id, planned["fingerprint"]):
                skipped.append({k: planned[k] for k in ("sampleId", "index", "source", "outputs", "done")})
                continue
            planned_file.write(("[\n" if planned_file.size == 0 else ",\n") + json.dumps(planned, separators=COMPACT))
        for sample_id, places in sorted(repeated.items()):
            problems.add(_repeated(run.samplesheet is not None, sample_id, places))
        problems.raise_if_any()
        to_run = total - len(skipped)
        if to_run:
            planned_file.write("\n]\n")
            planned_file.upload(state_bucket, prefix + "plan.json", "application/json")
    if skipped:
        with s3io.Spool() as skipped_file:
            skipped_file.write(json.dumps(skipped, separators=COMPACT))
            skipped_file.upload(state_bucket, prefix + "skipped.json", "application/json")
    report = f"{report_to.prefix()}{name}/report"
    return {
        "run": {"execution": execution, "stateBucket": state_bucket, "prefix": prefix, "mapResults": prefix + "map"},
        "plan": {"bucket": state_bucket, "key": prefix + "plan.json"},
        "skipped": {"bucket": state_bucket, "key": prefix + "skipped.json"} if skipped else None,
        "report": {"bucket": report_to.bucket, "json": report + ".json", "csv": report + ".csv"},
        "samplesheet": str(run.samplesheet) if run.samplesheet else None,
        "counts": {"samples": total, "toRun": to_run, "skipped": len(skipped)},
        "resume": run.resume,
    }


def folder_name(execution: str) -> str:
    """The execution's name as a key segment: itself when it is letters, digits, - and _ (what AWS's execution
    names almost always are); else made safe, with a hash of the real name so that two never share a folder."""
    safe = UNSAFE.sub("-", execution)[:80] or "run"
    if safe == execution:
        return safe
    return f"{safe[:71]}-{hashlib.sha256(execution.encode()).hexdigest()[:8]}"


def _results_path(value: Any, results_bucket: str) -> S3Uri | None:
    """The input's own resultsS3Path, when it is a valid one (the report goes under it)."""
    try:
        uri = S3Uri.parse(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return uri if uri is not None and uri.bucket == results_bucket else None


def _repeated(sheet: bool, sample_id: str, places: list[str]) -> str:
    if not sheet:
        return f"sampleId: {sample_id!r} appears twice (their results would overwrite each other)"
    shown = ", ".join(places[:10]) + (f", ... ({len(places)} in all)" if len(places) > 10 else "")
    column = "column sample" if places[0].startswith("row") else "sampleId"
    return (f"samplesheet {column}: {sample_id!r} appears {len(places)} times ({shown}); their results would "
            "overwrite each other")


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return plan_run(
        event.get("input"), str(event.get("execution") or "run"),
        batch=BatchResources(definitions=json.loads(os.environ["JOB_DEFINITIONS"]),
                             queues=json.loads(os.environ["JOB_QUEUES"])),
        results_bucket=os.environ["RESULTS_BUCKET"],
        input_buckets={b for b in os.environ.get("INPUT_BUCKETS", "").split(",") if b},
        state_bucket=os.environ["STATE_BUCKET"])
