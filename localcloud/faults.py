"""Faults the local cloud injects into the workload's AWS calls, as AWS sends them.

A fault is written `SERVICE.Operation[@match]=ErrorCode[:count|:rate=R]`, e.g.

    ec2.CopySnapshot=ResourceLimitExceeded:2        the first two CopySnapshot requests are refused
    s3.CopyObject@prod-site=AccessDenied:1          one CopyObject whose parameters mention "prod-site"
    s3.CopyObject=SlowDown:rate=0.1                 each CopyObject request fails with probability 0.1
    lambda.Invoke=TooManyRequestsException:2        Step Functions' Invoke of a function is throttled twice
    lambda.Invoke@snapshots-copy=Sandbox.Timedout:1 the function runs, then times out (its result is lost)
    batch.Job@isaac=SpotReclaimed:1                 an isaac job attempt loses its Spot instance
    ec2.SnapshotCopy@snap-0abc=InternalError:1      AWS fails a snapshot copy (made from snap-0abc) when it ends

Without `:count` or `:rate` every matching call fails. `@match` is a substring of the call's parameters as
JSON (a bucket, a function name, a job name, ...). `--seed N` decides which calls a `rate` fault hits, by a
hash of the seed and the call, so the same calls fail in every run whatever the threads' interleaving.

How each kind reaches the workload:
- API errors are HTTP error responses from the moto-backed endpoint (status and body in the service's own
  protocol), so botocore parses them into the ClientError AWS would cause, and its retry logic retries what it
  would retry in AWS (throttling, 5xx: `SlowDown`, `ServiceFailure`, ...) before a handler ever sees it.
- `lambda.Invoke=Sandbox.Timedout`: the function runs to the end (its side effects happen), then the invocation
  reports a timeout, the error name Step Functions matches (the harshest case for idempotence).
- `batch.Job=<reason>`: a job attempt ends FAILED with AWS's status reason for it (SpotReclaimed: "Host EC2
  (instance i-...) terminated."); the job definition's retry strategy decides whether Batch tries again.
- `ec2.SnapshotCopy=<cause>`: a snapshot copy CopySnapshot accepted fails in AWS when it ends: the copy's state
  becomes `error` and its `copySnapshot` event says `result: failed` with AWS's cause (patches.ebs_snapshot_copies).
  `@match` is matched against the copy (source snapshot id and region, destination region).

Calls from the main thread are the harness's (setup, assertions) and are never faulted.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

SPEC = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<operation>[A-Za-z0-9]+)(?:@(?P<match>[^=]+))?"
                  r"=(?P<code>[A-Za-z][A-Za-z0-9._-]*)(?::(?:(?P<count>\d+)|rate=(?P<rate>[0-9]*\.?[0-9]+)))?$")
SERVICE_ALIASES = {"sfn": "stepfunctions", "states": "stepfunctions", "eventbridge": "events"}

# HTTP status AWS answers each error code with (400 for any other code).
STATUS = {
    "SlowDown": 503, "ServiceUnavailable": 503, "RequestLimitExceeded": 503, "ServiceUnavailableException": 503,
    "InternalError": 500, "InternalFailure": 500, "ServiceFailure": 500, "ServiceException": 500,
    "InternalServerError": 500, "ServerException": 500, "Unavailable": 503,
    "TooManyRequestsException": 429, "AccessDenied": 403, "UnauthorizedOperation": 403,
    "NoSuchEntity": 404, "NoSuchBucket": 404, "NoSuchKey": 404, "ResourceNotFoundException": 404,
    # SNS (its throttling is a 429) and IAM's conflicts.
    "Throttled": 429, "AuthorizationError": 403, "NotFound": 404,
    "LimitExceeded": 409, "ConcurrentModification": 409, "EntityTemporarilyUnmodifiable": 409,
}
# Faults that are not HTTP errors: what a Lambda invocation or a Batch job attempt reports instead.
FUNCTION_ERRORS = {"Sandbox.Timedout": "Task timed out after {timeout}.00 seconds"}
JOB_REASONS = {
    "SpotReclaimed": "Host EC2 (instance i-0f1e2d3c4b5a69788) terminated.",
    "EssentialContainerExited": "Essential container in task exited",
    "OutOfMemory": "OutOfMemoryError: Container killed due to memory usage",
    "CannotPullContainer": "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
}
COPY_FAILURES = {
    "InternalError": "The snapshot copy failed because of an internal error",
    "InvalidSourceSnapshot": "Source snapshot ID is not valid",
    "KmsKeyUnavailable": "The KMS key used to encrypt the snapshot copy is not available",
}


class FaultSpecError(ValueError):
    """A fault is not written SERVICE.Operation[@match]=ErrorCode[:count|:rate=R]."""


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    match: str | None = None
    count: int | None = None                   # at most this many calls fail (None: no limit)
    rate: float | None = None                  # each matching call fails with this probability
    message: str | None = None
    when: Callable[[dict], bool] | None = None  # tests: a predicate on the call's parameters
    injected: int = 0
    hits: list[tuple[str, int]] = field(default_factory=list)   # (call key, attempt) of each injection

    @classmethod
    def parse(cls, text: str) -> "Fault":
        found = SPEC.match(text.strip())
        if not found:
            raise FaultSpecError(f"fault {text!r}: expected SERVICE.Operation[@match]=ErrorCode[:count|:rate=R], "
                                 "e.g. ec2.CopySnapshot=ResourceLimitExceeded:2 or s3.CopyObject=SlowDown:rate=0.1")
        rate = float(found["rate"]) if found["rate"] else None
        if rate is not None and not 0 < rate <= 1:
            raise FaultSpecError(f"fault {text!r}: rate must be in (0, 1], got {rate}")
        count = int(found["count"]) if found["count"] else None
        if count == 0:
            raise FaultSpecError(f"fault {text!r}: a count must be at least 1")
        fault = cls(SERVICE_ALIASES.get(found["service"], found["service"]), found["operation"], found["code"],
                    found["match"], count, rate)
        if fault.kind == "job" and fault.code not in JOB_REASONS:
            raise FaultSpecError(f"fault {text!r}: a Batch job fault is one of {sorted(JOB_REASONS)}")
        if fault.kind == "copy" and fault.code not in COPY_FAILURES:
            raise FaultSpecError(f"fault {text!r}: a snapshot copy fault is one of {sorted(COPY_FAILURES)}")
        return fault

    @property
    def kind(self) -> str:
        """'api' (an HTTP error), 'function' (a Lambda invocation's own error), 'job' (a Batch job attempt) or
        'copy' (a snapshot copy failing in AWS after it was accepted)."""
        if self.service == "batch" and self.operation == "Job":
            return "job"
        if self.service == "ec2" and self.operation == "SnapshotCopy":
            return "copy"
        if self.service == "lambda" and self.operation == "Invoke" and self.code in FUNCTION_ERRORS:
            return "function"
        return "api"

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)

    def describe(self) -> str:
        how = f":{self.count}" if self.count else (f":rate={self.rate:g}" if self.rate else "")
        return f"{self.service}.{self.operation}{'@' + self.match if self.match else ''}={self.code}{how}"

    def _applies(self, service: str, operation: str, params: dict, text: str) -> bool:
        return (self.service == service and self.operation == operation
                and (self.count is None or self.injected < self.count)
                and (self.match is None or self.match in text)
                and (self.when is None or bool(self.when(params))))


def _call_text(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=lambda v: v.decode("utf-8", "replace")
                      if isinstance(v, (bytes, bytearray)) else str(v), ensure_ascii=False)


class FaultInjector:
    """The faults in force, which calls they hit, and what became of those calls."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.faults: list[Fault] = []
        self.attempts: Counter[str] = Counter()      # call key -> attempts seen (faulted or not)
        self._lock = threading.Lock()

    def add(self, fault: Fault | str) -> Fault:
        fault = Fault.parse(fault) if isinstance(fault, str) else fault
        with self._lock:
            self.faults.append(fault)
        return fault

    def extend(self, faults: Iterable[Fault | str]) -> list[Fault]:
        return [self.add(f) for f in faults]

    def clear(self) -> None:
        """Stop injecting (what was injected stays in the report)."""
        with self._lock:
            for fault in self.faults:
                fault.count = fault.injected
                fault.rate = None

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.attempts.clear()

    def decide(self, service: str, operation: str, params: dict, kind: str = "api") -> Fault | None:
        """Count this call's attempt; the fault that fails it, if any."""
        text = _call_text(params)
        key = hashlib.sha1(f"{service}.{operation}:{text}".encode()).hexdigest()
        with self._lock:
            attempt = self.attempts[key]
            self.attempts[key] += 1
            for fault in self.faults:
                if fault.kind != kind or not fault._applies(service, operation, params, text):
                    continue
                if fault.rate is not None and self._draw(fault, key, attempt) >= fault.rate:
                    continue
                fault.injected += 1
                fault.hits.append((key, attempt))
                return fault
        return None

    def _draw(self, fault: Fault, key: str, attempt: int) -> float:
        digest = hashlib.sha256(f"{self.seed}|{fault.describe()}|{key}|{attempt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2 ** 64

    def report(self) -> list[dict]:
        """Per fault: how many calls it failed, and how many of those were tried again afterwards (by the SDK,
        a Step Functions Retry, Batch's retry strategy or a rerun)."""
        with self._lock:
            return [{"fault": f.describe(), "kind": f.kind, "injected": f.injected,
                     "retried": sum(1 for key, attempt in f.hits if self.attempts[key] > attempt + 1)}
                    for f in self.faults]


# The injector of the running local cloud (moto's state is process-wide, and so is this).
_ACTIVE: FaultInjector | None = None


def activate(injector: FaultInjector | None) -> None:
    global _ACTIVE
    _ACTIVE = injector


def active() -> FaultInjector | None:
    return _ACTIVE


def error_body(protocol: str, code: str, message: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of an AWS error response in the service's protocol."""
    request_id = "4a1c2b3d-0000-4000-8000-10ca1c10ud00"
    if protocol in ("json", "rest-json"):
        return ({"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code,
                 "x-amzn-RequestId": request_id},
                json.dumps({"__type": code, "message": message}).encode())
    escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if protocol == "ec2":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
                f"<Message>{escaped}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    elif protocol == "query":
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escaped}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    else:   # rest-xml (S3)
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{escaped}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>")
    return {"Content-Type": "text/xml", "x-amz-request-id": request_id}, body.encode()
