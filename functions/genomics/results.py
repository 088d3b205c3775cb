"""What became of each sample: a Map Run's results as its ResultWriter exported them to S3, read back one child
execution at a time, and the samples resume skipped.

AWS writes <Prefix>/<map run id>/manifest.json,
    {"DestinationBucket", "MapRunArn", "ResultFiles": {"SUCCEEDED": [{"Key", "Size"}, ...], "FAILED": [...],
                                                       "PENDING": [...]}}
and result files that are JSON arrays of child executions, {"ExecutionArn", "Name", "Input" (JSON text),
"Status", "StartDate", "StopDate", and "Output" (JSON text) or "Error"/"Cause"}. A file can hold gigabytes, so
it is parsed as it streams: memory holds one child at a time.

A child (one sample, see components/genomics.py) ends SUCCEEDED whatever its jobs did, with its own verdict:
{"sampleId", "status": SUCCEEDED|FAILED, "jobs": {tool: {jobId, status, startedAt, stoppedAt}}, "failed": a
{tool, error, cause} or a list of them (null where a branch did not fail)}. A job that ran and failed is caught
as States.TaskFailed with the job's description (JobId, Status, StatusReason, ...) as the cause; any other
error means the job was never submitted (Batch refused it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Iterator

from . import s3io
from .sample import TOOLS

SUCCEEDED, FAILED, SKIPPED = "SUCCEEDED", "FAILED", "SKIPPED"
JOB_FAILED, NOT_SUBMITTED, EXECUTION = "BatchJobFailed", "BatchJobNotSubmitted", "SampleExecutionFailed"
MARKER = "DoneMarkerNotWritten"
REASON_CHARS = 300


@dataclass
class Failure:
    kind: str                      # JOB_FAILED, NOT_SUBMITTED or EXECUTION
    tool: str | None
    job_id: str | None
    status: str
    reason: str

    def text(self) -> str:
        reason = self.reason if len(self.reason) <= REASON_CHARS else self.reason[:REASON_CHARS] + "..."
        if self.kind == JOB_FAILED:
            return f"{self.tool} job {self.job_id} {self.status}: {reason}"
        if self.kind == NOT_SUBMITTED:
            return f"{self.tool} job not submitted: {reason}"
        if self.kind == MARKER:
            return f"its jobs SUCCEEDED but its done marker was not written (resume will run it again): {reason}"
        return f"its execution {self.status}: {reason}"


@dataclass
class Outcome:
    sample_id: str
    index: int
    source: str
    status: str
    jobs: dict[str, dict] = field(default_factory=dict)       # tool -> {jobId, status, seconds}
    failures: list[Failure] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    seconds: float | None = None
    execution: str | None = None                              # the sample's child execution
    marker: str | None = None                                 # its done marker (SKIPPED: the one found)

    def line(self) -> str:
        return f"sample {self.sample_id}: " + "; ".join(f.text() for f in self.failures)

    def to_json(self) -> dict:
        return {"sampleId": self.sample_id, "source": self.source, "status": self.status, "seconds": self.seconds,
                "jobs": self.jobs, "failures": [{"tool": f.tool, "jobId": f.job_id, "status": f.status,
                                                 "reason": f.reason} for f in self.failures],
                "outputs": self.outputs, "execution": self.execution, "doneMarker": self.marker}


def children(bucket: str, manifest_key: str) -> Iterator[dict]:
    """Every child execution of the Map Run whose ResultWriter manifest is at s3://bucket/manifest_key."""
    with s3io.open_text(bucket, manifest_key) as text:
        manifest = json.load(text)
    destination = manifest.get("DestinationBucket") or bucket
    for status in (SUCCEEDED, FAILED, "PENDING"):
        for result_file in manifest.get("ResultFiles", {}).get(status, []):
            with s3io.open_text(destination, result_file["Key"]) as text:
                yield from iter_array(text)


def from_child(entry: dict) -> Outcome:
    sample = json.loads(entry["Input"])["sample"]
    outcome = Outcome(sample["sampleId"], sample["index"], sample["source"], FAILED, outputs=sample["outputs"],
                      seconds=_seconds(entry.get("StartDate"), entry.get("StopDate")),
                      execution=entry.get("ExecutionArn"))
    if entry.get("Status") != SUCCEEDED:
        outcome.failures.append(Failure(EXECUTION, None, None, str(entry.get("Status")),
                                        f"{entry.get('Error')}: {entry.get('Cause')}"))
        return outcome
    verdict = json.loads(entry["Output"])
    outcome.status = verdict["status"]
    for tool in TOOLS:
        job = (verdict.get("jobs") or {}).get(tool)
        if job:
            outcome.jobs[tool] = {"jobId": job.get("jobId"), "status": job.get("status"),
                                  "seconds": _ms(job.get("startedAt"), job.get("stoppedAt"))}
    failed = verdict.get("failed")
    for caught in (failed if isinstance(failed, list) else [failed]):
        if caught:
            failure, job = _failure(caught)
            outcome.failures.append(failure)
            if job is not None:
                outcome.jobs[failure.tool] = job
    if outcome.status == SUCCEEDED and outcome.failures:
        outcome.status = FAILED
    outcome.marker = f"s3://{sample['done']['bucket']}/{sample['done']['key']}" if outcome.status == SUCCEEDED else None
    return outcome


def skipped(entry: dict) -> Outcome:
    return Outcome(entry["sampleId"], entry["index"], entry["source"], SKIPPED, outputs=entry["outputs"],
                   marker=f"s3://{entry['done']['bucket']}/{entry['done']['key']}")


def _failure(caught: dict) -> tuple[Failure, dict | None]:
    tool, error, cause = caught.get("tool"), caught.get("error"), caught.get("cause") or ""
    if error == "States.TaskFailed":
        try:
            described = json.loads(cause)
        except ValueError:
            described = None
        if isinstance(described, dict) and described.get("JobId"):
            job = {"jobId": described["JobId"], "status": described.get("Status"),
                   "seconds": _ms(described.get("StartedAt"), described.get("StoppedAt"))}
            return Failure(JOB_FAILED, tool, described["JobId"], str(described.get("Status")),
                           str(described.get("StatusReason") or "no status reason")), job
    if tool not in TOOLS:                               # the done marker: the jobs ran, their record did not
        return Failure(MARKER, tool, None, "NOT_WRITTEN", f"{error}: {cause}"), None
    return Failure(NOT_SUBMITTED, tool, None, "NOT_SUBMITTED", f"{error}: {cause}"), None


def _ms(started: Any, stopped: Any) -> float | None:
    if isinstance(started, (int, float)) and isinstance(stopped, (int, float)):
        return round((stopped - started) / 1000, 3)
    return None


def _seconds(started: Any, stopped: Any) -> float | None:
    try:
        return round((datetime.fromisoformat(stopped) - datetime.fromisoformat(started)).total_seconds(), 3)
    except (TypeError, ValueError):
        return None


def iter_array(text: IO[str], chunk: int = 1 << 20) -> Iterator[Any]:
    """The values of the JSON array `text` holds, decoded as the text streams (the values must be objects or
    arrays: a number cut at a chunk's end would parse short)."""
    decoder = json.JSONDecoder()
    buffer, position, ended, state = "", 0, False, "start"

    def fill() -> None:
        nonlocal buffer, position, ended
        more = text.read(chunk)
        ended = ended or not more
        buffer, position = buffer[position:] + more, 0

    while True:
        while True:
            while position < len(buffer) and buffer[position].isspace():
                position += 1
            if position < len(buffer) or ended:
                break
            fill()
        if position >= len(buffer):
            raise ValueError("a result file ends inside its JSON array")
        char = buffer[position]
        if state == "start":
            if char != "[":
                raise ValueError(f"a result file is not a JSON array (starts with {char!r})")
            position, state = position + 1, "first"
        elif char == "]" and state in ("first", "next"):
            return
        elif state == "next":
            if char != ",":
                raise ValueError(f"a result file has {char!r} between two values")
            position, state = position + 1, "value"
        else:
            while True:
                try:
                    value, position = decoder.raw_decode(buffer, position)
                    break
                except json.JSONDecodeError:
                    if ended:
                        raise
                    fill()
            state = "next"
            yield value
