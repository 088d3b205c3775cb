"""Settle a copy into the DR region that has completed (the DR region's `copySnapshot` event, forwarded to the
primary region): record it, mark the source `opsflows:dr=copied` (retention may delete it from now on), and
start the copies waiting for the slot it freed. A copy AWS failed is removed and tried again, at most
`COPY_ATTEMPTS` copies in all, then `CopyFailed` is raised (the execution alerts, the source is kept).
Copies opsflows did not make only free a slot. A duplicate event changes nothing.
"""
from __future__ import annotations

from typing import Any

from common.aws import home_region
from common.errors import InvalidInput, OpsflowsError
from common.handler import lambda_handler

from .dispatch import CopySettings, dispatch
from .dr import remove_failed_copy
from .ec2 import ec2
from .ledger import COPIED, COPYING, EXPIRED, FAILED, RETRYING, Conflict, Ledger
from .model import COPIED as TAGGED_COPIED
from .model import DR_COPY, SnapshotEvent


class CopyFailed(OpsflowsError):
    """AWS failed every copy of a snapshot to the DR region that opsflows tried."""


def settle(event: Any, execution: str, settings: CopySettings) -> dict:
    parsed = SnapshotEvent.parse(event, "copySnapshot", results=("succeeded", "failed"))
    copy, source = parsed.snapshot, parsed.source
    ledger = Ledger(settings.table, settings.dr_region)
    # A completed copy's slot goes to the next waiting snapshot before any bookkeeping (a failed copy's goes to its
    # own retry, first in line).
    started = dispatch(ledger, settings).to_json() if parsed.result == "succeeded" else None
    entry = ledger.entry(source) if parsed.source_region == home_region() and copy.region == settings.dr_region \
        else None
    if not entry or entry.get("copy") != copy.id:
        return {"outcome": "ignored", "reason": f"{copy.id} is not a copy opsflows is waiting for",
                "dispatch": started or dispatch(ledger, settings).to_json()}
    described = {"source": {"snapshot": entry["source"], "volumeId": entry["volume"], "tags": entry.get("tags") or {},
                            "startTime": entry.get("startTime", "")}, "copy": {"id": copy.id, "region": copy.region}}
    state, by_me = entry.get("state"), entry.get("settledBy") == execution
    if parsed.result == "succeeded":
        if state == COPYING:
            try:
                ledger.update(source, {"state": COPIED, "settledBy": execution}, when={"state": COPYING, "copy": copy.id},
                              settled=True)
            except Conflict:
                return settle(event, execution, settings)          # settled meanwhile: read it again
        elif state != COPIED:
            return {"outcome": "ignored", "reason": f"{copy.id} was settled already ({state})", "dispatch": started}
        # Copied (now, or before: a duplicate event, a rerun): tagging and retention are idempotent.
        ec2(home_region()).create_tags(Resources=[source], Tags=[{"Key": DR_COPY, "Value": TAGGED_COPIED}])
        # Retention held it for this copy: it runs again now (else nothing of the volume waits for it).
        return {"outcome": "copied", "retain": bool(entry.get("retainAfterCopy")), **described, "dispatch": started}

    attempts = int(entry.get("attempts") or 0)
    if state == COPYING or (state in (FAILED, EXPIRED) and not by_me):
        # AWS failed the copy (COPYING), or an operator starts a settled failure again (a fresh set of attempts).
        attempts = attempts + 1 if state == COPYING else 0
        again = attempts < settings.attempts
        try:
            ledger.update(source, {"state": RETRYING if again else FAILED, "attempts": attempts, "settledBy": execution,
                                   "owner": execution, "reason": parsed.cause or "no cause given"},
                          when={"state": state, "copy": copy.id})
        except Conflict:
            return settle(event, execution, settings)
        state = RETRYING if again else FAILED
    elif not (by_me and state in (RETRYING, FAILED)):      # by_me: this execution's Settle, retried
        return {"outcome": "ignored", "reason": f"{copy.id} was settled already ({state})"}
    remove_failed_copy(copy.id, copy.region)
    if state == RETRYING:        # tried again first: its place in the queue is older than any waiting snapshot's
        return {"outcome": "retry", "attempt": attempts + 1, **described}
    dispatch(ledger, settings)
    raise CopyFailed(f"AWS failed all {attempts} copies of {source} ({parsed.source_region}, volume {entry['volume']}) "
                     f"to {copy.region}, the last with: {parsed.cause or 'no cause given'}. The snapshot is kept "
                     f"({DR_COPY}=pending); start this execution again to try once more")


@lambda_handler
def handler(event: dict, context: object) -> dict:
    if not isinstance(event, dict) or not isinstance(event.get("execution"), str):
        raise InvalidInput("input must carry event (the copySnapshot event) and execution")
    return settle(event.get("event"), event["execution"], CopySettings.from_env())
