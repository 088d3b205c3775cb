"""The copy deadline was reached: this execution's snapshot waited `opsflows:snapshots.copyDeadlineHours` for a DR
copy slot (its CopyToDR task timed out). One alert names every snapshot still waiting then: the first execution
to get here takes the report's lock, takes them all out of the queue and answers their executions with
`CopyDeadlineReached` (they end FAILED, named in its alert); the others find themselves reported already.

Outcomes: `reported` (publish the alert, then fail), `elsewhere` (named in another execution's alert: fail
without one), `started` (the copy started at the last moment: the execution succeeds), `failed` (the copy could
not start for good: alert as any failure).
"""
from __future__ import annotations

from typing import Any

from common.errors import InvalidInput, OpsflowsError
from common.handler import lambda_handler

from . import tokens
from .dispatch import CopySettings
from .ledger import COPIED, COPYING, EXPIRED, FAILED, SKIPPED, STARTING, WAITING, Ledger
from .model import source_ref

ERROR = "CopyDeadlineReached"
LISTED = 1500               # snapshots named in one alert at most (SNS messages hold 256 KiB)


class DeadlineReportBusy(OpsflowsError):
    """Another execution is reporting the snapshots still waiting: look again shortly."""


def expire(snapshot_id: str, execution: str, settings: CopySettings) -> dict:
    ledger = Ledger(settings.table, settings.dr_region)
    entry = ledger.entry(snapshot_id) or {}
    state = entry.get("state")
    if state in (STARTING, COPYING, COPIED, SKIPPED):
        return {"outcome": "started", "state": state}
    if state == FAILED:
        return {"outcome": "failed", "Error": "CopyError", "Cause": entry.get("reason") or "the copy cannot start"}
    if state == EXPIRED and entry.get("reportedBy") != execution:
        return {"outcome": "elsewhere", "Error": ERROR,
                "Cause": f"{snapshot_id} was reported with the other snapshots still waiting in the alert of "
                         f"{entry.get('reportedBy')}"}
    if state not in (WAITING, EXPIRED) or entry.get("owner") != execution:
        return {"outcome": "elsewhere", "Error": ERROR,
                "Cause": f"{snapshot_id} is waiting for another execution ({entry.get('owner')}), state {state}"}
    if not ledger.lock(execution):
        raise DeadlineReportBusy(f"another execution is reporting the snapshots waiting for {settings.dr_region}")
    try:
        reported = list(entry.get("reported") or [])
        if state == WAITING:
            own = {"sk": entry.get("order"), "token": entry.get("token"), "snapshot": snapshot_id,
                   "volume": entry.get("volume"), "owner": execution}
            if not ledger.expire(own, execution):
                return {"outcome": "started", "state": (ledger.entry(snapshot_id) or {}).get("state")}
            reported.append(_named(own))
            ledger.note_reported(snapshot_id, reported[-1:])
        batch: list[dict] = []
        for marker in ledger.waiting():
            if ledger.expire(marker, execution):
                tokens.fail(marker["token"], ERROR, f"{marker['snapshot']} waited {settings.deadline_hours:g} h for a "
                                                    f"DR copy slot; reported in the alert of {execution}")
                batch.append(_named(marker))
            if len(batch) == 100:
                ledger.note_reported(snapshot_id, batch)
                reported, batch = reported + batch, []
        if batch:
            ledger.note_reported(snapshot_id, batch)
            reported += batch
    finally:
        ledger.unlock(execution)
    return {"outcome": "reported", "Error": ERROR, "Cause": _cause(reported, settings),
            "message": _message(reported, execution, settings)}


def _named(marker: dict) -> dict:
    return {"snapshot": marker["snapshot"], "volume": marker.get("volume"), "execution": marker.get("owner")}


def _cause(reported: list[dict], settings: CopySettings) -> str:
    return (f"{len(reported)} snapshot(s) could not start their DR copy to {settings.dr_region} within "
            f"copyDeadlineHours={settings.deadline_hours:g}: {', '.join(r['snapshot'] for r in reported[:20])}"
            + (f" and {len(reported) - 20} more (listed in the alert)" if len(reported) > 20 else ""))


def _message(reported: list[dict], execution: str, settings: CopySettings) -> str:
    lines = [f"opsflows snapshots-primary: DR copy deadline reached | reported by execution: {execution}",
             f"{len(reported)} snapshot(s) waited copyDeadlineHours={settings.deadline_hours:g} for one of the "
             f"{settings.max_copies} concurrent copy slots of {settings.dr_region} and have no DR copy. Each is kept "
             "in its region (opsflows:dr=pending) and its execution ended FAILED: start those executions again once "
             "the region has room (or raise copyDeadlineHours above your largest burst's time to DR: about "
             "snapshots x average copy hours / 20).",
             "snapshot | volume | execution"]
    lines += [f"{r['snapshot']} | {r['volume']} | {r['execution']}" for r in reported[:LISTED]]
    if len(reported) > LISTED:
        lines.append(f"... and {len(reported) - LISTED} more, in the ledger table {settings.table} (state expired)")
    return "\n".join(lines)


@lambda_handler
def handler(event: Any, context: object) -> dict:
    if not isinstance(event, dict) or not isinstance(event.get("execution"), str):
        raise InvalidInput("input must carry snapshot and execution")
    return expire(source_ref(event.get("snapshot")).id, event["execution"], CopySettings.from_env())
