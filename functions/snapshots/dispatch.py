"""Start the DR copies of the oldest waiting snapshots, as many as the DR region has slots for.

The DR region admits at most 20 copies in flight (EBS quota, not adjustable; `MAX_COPIES` may keep some for
others). The copies opsflows has pending there are the source of truth for how many slots are taken; a copy is
started only after its snapshot was claimed out of the queue, so two dispatches never start one copy twice. Each
started copy answers the execution waiting for it (its task token); a copy that cannot start for good answers
it with the error, so that execution alerts; a refusal for the quota puts the snapshot back in its place.
Dispatch runs after each snapshot joins the queue and after each copy into the DR region completes.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from botocore.exceptions import ClientError

from common.errors import InvalidInput, OpsflowsError, error_code
from common.handler import logger

from . import tokens
from .dr import QUOTA_ERRORS, TRANSIENT_ERRORS, copies_in_flight, start_copy
from .ec2 import SnapshotNotFound, describe
from .ledger import COPYING, FAILED, SKIPPED, Ledger
from .model import REGION, SnapshotRef

QUOTA = 20


class CopyError(InvalidInput):
    """The copy cannot be attempted (no DR region, DR region equals the source region, bad settings)."""


class TransientError(OpsflowsError):
    """An AWS error worth retrying later (throttling, 5xx) while starting a copy."""


@dataclass(frozen=True)
class CopySettings:
    table: str
    dr_region: str
    kms_key_id: str | None
    max_copies: int                 # copies opsflows keeps in flight into the DR region, at most
    attempts: int                   # copies AWS may fail for one snapshot before it is alerted
    deadline_hours: float           # how long a snapshot may wait for a slot

    @classmethod
    def from_env(cls) -> "CopySettings":
        dr_region = os.environ.get("DR_REGION", "")
        if not REGION.match(dr_region):
            raise CopyError(f"DR_REGION must be a region name, got {dr_region!r}")
        if not os.environ.get("TABLE_NAME"):
            raise CopyError("TABLE_NAME is not set")
        return cls(os.environ["TABLE_NAME"], dr_region, os.environ.get("KMS_KEY_ID") or None,
                   _number("MAX_COPIES", int, 1, QUOTA, QUOTA), _number("COPY_ATTEMPTS", int, 1, 10, 3),
                   _number("COPY_DEADLINE_HOURS", float, 0.0, 8760.0, 24.0))


def _number(name: str, kind: type, low: float, high: float, default: float):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise CopyError(f"{name} must be a number, got {raw!r}") from None
    within = (low < value <= high) if kind is float else (low <= value <= high)
    if not within:
        raise CopyError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass
class Dispatched:
    in_flight: int = 0              # opsflows copies pending in the DR region before this dispatch
    started: list[str] = field(default_factory=list)       # source snapshots whose copy started
    skipped: list[str] = field(default_factory=list)       # sources gone before their copy could start
    failed: list[str] = field(default_factory=list)        # copies that cannot start (the owner alerts)
    rejected: bool = False          # the region refused a copy for its quota

    def to_json(self) -> dict:
        return asdict(self)


def dispatch(ledger: Ledger, settings: CopySettings, own: str | None = None) -> Dispatched:
    """`own`: the task token of the execution dispatching, whose answer must not be lost (the others' answers
    are best effort: an execution not answered finds its copy started when its deadline comes)."""
    result = Dispatched()
    waiting = ledger.waiting(limit=settings.max_copies)
    first = next(waiting, None)
    if first is None:
        return result                                   # nothing waits: no need to count the copies in flight
    result.in_flight = copies_in_flight(settings.dr_region)
    free = settings.max_copies - result.in_flight
    marker = first
    while marker is not None and free > 0:
        if ledger.claim(marker):
            free -= _start(ledger, settings, marker, result, own)
            if result.rejected:
                break
        marker = next(waiting, None)
    return result


def _start(ledger: Ledger, settings: CopySettings, marker: dict, result: Dispatched, own: str | None) -> int:
    """Start one claimed copy; the slots it took (0 or 1)."""
    source = SnapshotRef(marker["source"]["id"], marker["source"]["region"])
    try:
        copy_id = start_copy(source, volume_id=marker["volume"], tags=marker.get("tags") or {},
                             start_time=marker["startTime"], dr_region=settings.dr_region,
                             kms_key_id=settings.kms_key_id)
    except ClientError as exc:
        code, message = error_code(exc), exc.response.get("Error", {}).get("Message", str(exc))
        if code in QUOTA_ERRORS:
            ledger.unclaim(marker)
            result.rejected = True
        elif code in TRANSIENT_ERRORS:
            ledger.unclaim(marker)
            raise TransientError(f"{code} starting the DR copy of {source.id}: {message}") from exc
        elif code in ("InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed") and _exists(source):
            ledger.unclaim(marker)             # not visible to CopySnapshot yet (eventual consistency)
            raise TransientError(f"{code} starting the DR copy of {source.id}, which exists: {message}") from exc
        elif code in ("InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed"):
            # Deleted since its event (by hand): nothing left to protect, nothing to copy.
            reason = f"{source.id} no longer exists in {source.region}"
            ledger.update(source.id, {"state": SKIPPED, "reason": reason}, remove=("token",), settled=True)
            _answer(marker, own, tokens.succeed, {"copy": None, "skipped": reason})
            result.skipped.append(source.id)
        else:
            reason = f"{code}: {message}"
            ledger.update(source.id, {"state": FAILED, "reason": reason}, remove=("token",))
            _answer(marker, own, tokens.fail, code, f"the DR copy of {source.id} to {settings.dr_region} cannot start: "
                                                    f"{reason}")
            result.failed.append(source.id)
        return 0
    ledger.update(source.id, {"state": COPYING, "copy": copy_id}, remove=("token",))
    result.started.append(source.id)
    _answer(marker, own, tokens.succeed, {"copy": {"id": copy_id, "region": settings.dr_region}, "started": True})
    return 1


def _exists(source: SnapshotRef) -> bool:
    try:
        describe(source)
        return True
    except SnapshotNotFound:
        return False


def _answer(marker: dict, own: str | None, answer, *args) -> None:
    """Answer the execution waiting for the marker's snapshot. This execution's own answer must not be lost (an
    error retries its task, which then reads the entry); another's is best effort (it reads the entry when its
    deadline comes)."""
    if marker["token"] == own:
        answer(own, *args)
        return
    try:
        answer(marker["token"], *args)
    except ClientError as exc:
        logger.warning("answer lost", extra={"snapshot": marker["snapshot"], "error": error_code(exc)})
