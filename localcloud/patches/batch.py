"""AWS Batch job outcomes the tests choose.

AWS: a job runs its container and ends SUCCEEDED, or FAILED with a status reason ("Essential container in
task exited", "Host EC2 (instance i-...) terminated." on Spot reclamation, "cancelled by user", ...), after
as long as the container takes.
moto (`{"batch": {"use_docker": False}}`, the local cloud's setting): every job is SUCCEEDED the moment it is
submitted (or every job FAILED, process-wide, with MOTO_SIMPLE_BATCH_FAIL_AFTER). Here a test can make the
jobs it picks fail with a reason, or stay RUNNING until they have been described N times (what a long job
looks like to Step Functions' .sync poller), and leave every other job to moto:

    with fail_jobs("isaac-*", reason="Essential container in task exited"):
        ...                                   # the isaac job of every sample fails
    with hold_jobs(describes=5):              # every job runs for 5 status polls, then succeeds
        ...

`matching` is a glob on the job name, or a predicate on {"jobName", "jobQueue", "jobDefinition", "tags",
"command"}. Outcomes end with their `with` block, or when the cloud (moto's Batch backend) is reset.

Injected job faults (`batch.Job@isaac=SpotReclaimed:1`, localcloud.faults) fail attempts with AWS's status
reason, and the job definition's retry strategy decides as Batch does: `evaluateOnExit` conditions in order
(`onStatusReason`/`onReason` globs, `onExitCode`), the first match's action; none matching retries; at most
`attempts` attempts in all. Each failed attempt stays in the job's `attempts` with its status reason.

DescribeJobs finds the jobs asked for by id, as Batch does; moto scans its whole job table for every call, which
makes a cohort's status checks quadratic (10,000 samples are 40,000 jobs).
"""
from __future__ import annotations

import datetime
import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.batch.models import BatchBackend, Job
from moto.batch.utils import JobStatus
from moto.batch_simple.models import BatchSimpleBackend

from .. import faults

_LOCK = threading.Lock()
_OUTCOMES: list["JobOutcome"] = []
_HELD: dict[str, list] = {}           # job id -> [job, describes left]


@dataclass
class JobOutcome:
    matching: str | Callable[[dict], bool]
    fail: bool
    reason: str | None = None
    exit_code: int | None = None
    describes: int = 0
    times: int | None = None                       # how many jobs it decides (None: every matching one)
    job_ids: list[str] = field(default_factory=list)

    def matches(self, job: Job) -> bool:
        if self.times is not None and len(self.job_ids) >= self.times:
            return False
        if isinstance(self.matching, str):
            return fnmatch.fnmatchcase(job.job_name, self.matching)
        return bool(self.matching(_job_view(job)))

    def __enter__(self) -> "JobOutcome":
        return self

    def __exit__(self, *exc: Any) -> None:
        remove(self)


def fail_jobs(matching: str | Callable[[dict], bool] = "*", *, reason: str = "Essential container in task exited",
              exit_code: int | None = 1, times: int | None = None) -> JobOutcome:
    """Jobs submitted from now on that match end FAILED with `reason` (and the container's `exit_code`)."""
    return _add(JobOutcome(matching, fail=True, reason=reason, exit_code=exit_code, times=times))


def hold_jobs(describes: int, matching: str | Callable[[dict], bool] = "*", *, times: int | None = None) -> JobOutcome:
    """Jobs submitted from now on that match stay RUNNING for `describes` DescribeJobs calls, then SUCCEED."""
    return _add(JobOutcome(matching, fail=False, describes=describes, times=times))


def remove(outcome: JobOutcome) -> None:
    with _LOCK:
        if outcome in _OUTCOMES:
            _OUTCOMES.remove(outcome)


def clear() -> None:
    with _LOCK:
        _OUTCOMES.clear()
        _HELD.clear()


def _add(outcome: JobOutcome) -> JobOutcome:
    with _LOCK:
        _OUTCOMES.append(outcome)
    return outcome


def _job_view(job: Job) -> dict:
    return {"jobName": job.job_name, "jobQueue": job.job_queue.arn, "jobDefinition": job.job_definition.arn,
            "tags": job.backend.list_tags_for_resource(job.arn), "command": job.container_overrides.get("command")}


def _decide(job: Job) -> JobOutcome | None:
    with _LOCK:
        outcome = next((o for o in _OUTCOMES if o.matches(job)), None)
        if outcome is not None:
            outcome.job_ids.append(job.job_id)
        return outcome


EXIT_CODES = {"EssentialContainerExited": 1, "OutOfMemory": 137}


def _action(strategy: dict, reason: str, exit_code: int | None) -> str:
    """What Batch does after a failed attempt: the first matching evaluateOnExit action, else RETRY."""
    for condition in strategy.get("evaluateOnExit") or []:
        checks = [(condition.get("onStatusReason"), reason), (condition.get("onReason"), reason),
                  (condition.get("onExitCode"), "" if exit_code is None else str(exit_code))]
        if all(fnmatch.fnmatchcase(value, pattern) for pattern, value in checks if pattern):
            return str(condition.get("action", "RETRY")).upper()
    return "RETRY"


def _injected_attempts(job: Job) -> tuple[list[tuple[str, int | None]], bool]:
    """The attempts injected faults fail ((reason, exit code) each), and whether the job ends with them."""
    injector = faults.active()
    if injector is None:
        return [], False
    strategy = getattr(job.job_definition, "retry_strategy", None) or {}
    attempts = max(1, int(strategy.get("attempts") or 1))
    failed: list[tuple[str, int | None]] = []
    view = {k: v for k, v in _job_view(job).items() if k != "command"}
    while len(failed) < attempts:
        fault = injector.decide("batch", "Job", view, "job")
        if fault is None:
            return failed, False
        failed.append((faults.JOB_REASONS[fault.code], EXIT_CODES.get(fault.code)))
        if _action(strategy, *failed[-1]) != "RETRY":
            return failed, True
    return failed, True


def apply() -> None:
    original_finish = BatchSimpleBackend._mark_job_as_finished
    original_describe = BatchBackend.describe_jobs
    original_reset = BatchBackend.reset

    def _mark_job_as_finished(self: BatchSimpleBackend, include_start_attempt: bool, job: Job) -> None:
        failed, final = _injected_attempts(job) if include_start_attempt else ([], False)
        if failed:
            self.backend._jobs[job.job_id] = job
            job.job_started_at = datetime.datetime.now()
            job.log_stream_name = job._stream_name
            for reason, exit_code in failed:
                job._start_attempt()
                job.latest_attempt.update({"statusReason": reason, "stoppedAt": job.latest_attempt["startedAt"]})
                job.latest_attempt["container"]["exitCode"] = exit_code
            if final:
                job.exit_code, job.job_stopped_reason = failed[-1][1], failed[-1][0]
                job._mark_stopped(success=False)
                return
        outcome = _decide(job)
        if outcome is None:
            return original_finish(self, include_start_attempt, job)
        self.backend._jobs[job.job_id] = job
        job.job_started_at = datetime.datetime.now()
        job.log_stream_name = job._stream_name
        if include_start_attempt:
            job._start_attempt()
        if outcome.fail:
            job.exit_code = outcome.exit_code
            job.job_stopped_reason = outcome.reason
            job._mark_stopped(success=False)
        elif outcome.describes > 0:
            job.status = JobStatus.RUNNING.value
            with _LOCK:
                _HELD[job.job_id] = [job, outcome.describes]
        else:
            job._mark_stopped(success=True)

    def describe_jobs(self: BatchBackend, jobs: list[str] | None) -> list[dict]:
        with _LOCK:
            for job_id in list(jobs or []):
                held = _HELD.get(job_id.rsplit("/", 1)[-1])
                if held is not None:
                    held[1] -= 1
                    if held[1] <= 0:
                        del _HELD[held[0].job_id]
                        held[0]._mark_stopped(success=True)
        if jobs is None:
            return original_describe(self, jobs)
        found = (self._jobs.get(str(ref).rsplit("/", 1)[-1]) for ref in jobs)
        return [job.describe() for job in found if job is not None]

    def reset(self: BatchBackend) -> None:
        clear()
        original_reset(self)

    BatchSimpleBackend._mark_job_as_finished = _mark_job_as_finished
    BatchBackend.describe_jobs = describe_jobs
    BatchBackend.reset = reset
