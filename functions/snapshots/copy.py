"""CopyToDR: put a managed snapshot in the DR copy queue, then start the copies the DR region has slots for.

The CopyToDR task invokes this with its task token and waits until the snapshot's copy has started: this
dispatch answers the token, or a later one does (after a copy into the DR region completes). The task waits at
most `opsflows:snapshots.copyDeadlineHours`. A snapshot already copied, or queued by another execution (a
duplicate event), is answered at once: there is one copy per snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from common.aws import client
from common.errors import InvalidInput, OpsflowsError, error_code
from common.handler import lambda_handler

from . import tokens
from .dispatch import CopySettings, TransientError, dispatch
from .ledger import COPIED, COPYING, EXPIRED, FAILED, RETRYING, SKIPPED, STARTING, WAITING, Conflict, Ledger
from .model import COPIED as TAGGED_COPIED
from .model import VOLUME_ID, SnapshotRef, source_ref

# A quota refusal while no copy of ours is in flight (others hold every slot) is retried this many times by the
# task's Retry before the execution just waits for the completions of others' copies (forwarded to it too).
BUSY_RETRIES = 5


class CopySlotsBusy(OpsflowsError):
    """The DR region refused a copy for its quota and no copy of ours is in flight there: try again later."""


@dataclass(frozen=True)
class CopyRequest:
    source: SnapshotRef
    volume_id: str
    tags: dict[str, str]
    start_time: str
    size_gib: int
    dr: str
    token: str
    execution: str
    retry: int

    @classmethod
    def parse(cls, event: Any) -> "CopyRequest":
        if not isinstance(event, dict) or not isinstance(event.get("source"), dict):
            raise InvalidInput(f"input must carry source (the Tag step's output), got {event!r}"[:500])
        source = event["source"]
        volume_id, tags = source.get("volumeId"), source.get("tags") or {}
        if not isinstance(volume_id, str) or not VOLUME_ID.match(volume_id):
            raise InvalidInput(f"source.volumeId must be an EBS volume id, got {volume_id!r}")
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise InvalidInput(f"source.tags must be an object of strings, got {tags!r}"[:500])
        for name in ("token", "execution"):
            if not isinstance(event.get(name), str) or not event[name]:
                raise InvalidInput(f"input must carry {name} (from the state machine's context)")
        size = source.get("volumeSize")
        return cls(source_ref(source.get("snapshot"), "source.snapshot"), volume_id, tags,
                   str(source.get("startTime") or ""), size if isinstance(size, int) and size > 0 else 0,
                   str(source.get("dr") or ""), event["token"],
                   event["execution"], int(event.get("retry") or 0))


def running(execution: str) -> bool:
    """Whether the execution waiting for a snapshot still runs (one that failed or timed out does not answer)."""
    try:
        return client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"
    except ClientError as exc:
        if error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise


def enqueue(ledger: Ledger, request: CopyRequest) -> tuple[dict | None, dict | None]:
    """Queue the snapshot for this execution: (its marker, the entry as it was) when it waits, or (None, the
    answer its task gets now)."""
    for _ in range(5):
        seen = ledger.entry(request.source.id)
        state = seen.get("state") if seen else None
        mine = bool(seen) and seen.get("owner") == request.execution
        if state is None and request.dr == TAGGED_COPIED:
            return None, {"copy": None, "reused": True, "reason": f"{request.source.id} is tagged opsflows:dr=copied"}
        if state in (COPIED, COPYING):
            return None, {"copy": {"id": seen.get("copy"), "region": ledger.dr_region}, "reused": not mine,
                          **({"started": True} if mine else {})}
        if state == SKIPPED:
            return None, {"copy": None, "skipped": seen.get("reason")}
        if state == STARTING:
            if mine:       # a dispatch is starting it with this execution's previous token: ask again shortly
                raise TransientError(f"the DR copy of {request.source.id} is being started")
            return None, {"copy": None, "duplicate": True, "state": state, "owner": seen.get("owner")}
        if state in (WAITING, RETRYING) and not mine and running(seen.get("owner") or ""):
            return None, {"copy": None, "duplicate": True, "state": state, "owner": seen.get("owner")}
        # New, this execution's own (a retried task, a failed copy tried again), failed/expired (a rerun), or
        # waiting for an execution that no longer runs (this one takes its place in the queue).
        attempts = 0 if state in (None, FAILED) else int(seen.get("attempts") or 0)
        try:
            marker = ledger.enqueue(seen if state else None, source=request.source.to_json(), volume=request.volume_id,
                                    tags=request.tags, start_time=request.start_time,
                                    size_gib=request.size_gib, owner=request.execution,
                                    token=request.token, attempts=attempts)
            return marker, seen
        except Conflict:
            continue            # another execution changed it meanwhile: read it again
    raise TransientError(f"the ledger entry of {request.source.id} keeps changing")


@lambda_handler
def handler(event: dict, context: object) -> dict:
    request = CopyRequest.parse(event)
    settings = CopySettings.from_env()
    if request.source.region == settings.dr_region:
        raise InvalidInput(f"the DR region must differ from the snapshot's region ({request.source.region})")
    ledger = Ledger(settings.table, settings.dr_region)
    marker, seen = enqueue(ledger, request)
    if marker is None:
        tokens.succeed(request.token, seen)
        return seen
    try:
        result = dispatch(ledger, settings, own=request.token)
    except Exception:
        ledger.withdraw(marker, seen)     # a retry or a rerun queues it afresh; none waits for a dead token
        raise
    mine = request.source.id
    answered = mine in result.started or mine in result.skipped or mine in result.failed
    ours_in_flight = result.in_flight + len(result.started)
    if not answered and result.rejected and ours_in_flight == 0 and request.retry < BUSY_RETRIES:
        raise CopySlotsBusy(f"{settings.dr_region} refused a copy for its concurrent-copy quota while no opsflows "
                            f"copy is in flight there; {mine} stays queued")
    return {"queued": mine, "answered": answered, "dispatch": result.to_json()}
