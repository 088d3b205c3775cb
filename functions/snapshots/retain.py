"""Enforce retention for one volume: keep the newest N managed snapshots (and, optionally, a maximum age).

A snapshot still waiting for its DR copy (`opsflows:dr=pending`) is never deleted: it is reported as held, and
its entry in the copy ledger (LEDGER_TABLE, primary only) asks for the retention to run again when its copy
completes. Snapshots are ordered by the moment they hold
(a DR copy by its source's start time), not by when a copy happened to start."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from common.errors import InvalidInput, error_code
from common.handler import lambda_handler

from .ec2 import ec2, managed_snapshots_of, point_in_time
from .ledger import Ledger
from .model import DR_COPY, PENDING, REGION, SNAPSHOT_ID, VOLUME_ID, tags_of
from .retention import Candidate, select_expired


class RetentionError(InvalidInput):
    """The retention input or settings are unusable (no volume, bad RETAIN)."""


def enforce_retention(*, snapshot_id: str | None, region: str, volume_id: str, keep: int,
                      max_age_days: int | None, dry_run: bool, now: datetime | None = None) -> dict:
    """`snapshot_id`: the snapshot of the event, never deleted (None after a DR copy completed: nothing to
    protect then)."""
    if not isinstance(volume_id, str) or not VOLUME_ID.match(volume_id):
        raise RetentionError(f"volumeId must be an EBS volume id, got {volume_id!r}")
    if snapshot_id is not None and (not isinstance(snapshot_id, str) or not SNAPSHOT_ID.match(snapshot_id)):
        raise RetentionError(f"snapshot id must be an EBS snapshot id, got {snapshot_id!r}")
    if not isinstance(region, str) or not REGION.match(region):
        raise RetentionError(f"region must be a region name, got {region!r}")
    managed = managed_snapshots_of(volume_id, region)
    by_id = {s["SnapshotId"]: s for s in managed}
    expired = select_expired([Candidate(s["SnapshotId"], point_in_time(s)) for s in managed], keep=keep,
                             current=snapshot_id, now=now or datetime.now(timezone.utc), max_age_days=max_age_days)
    held = [c.id for c in expired if tags_of(by_id[c.id]).get(DR_COPY) == PENDING]
    expired = [c for c in expired if c.id not in held]
    if held and not dry_run and os.environ.get("LEDGER_TABLE"):
        ledger = Ledger(os.environ["LEDGER_TABLE"], os.environ.get("DR_REGION", ""))
        for snapshot in held:
            ledger.retain_after_copy(snapshot)
    deleted, in_use, gone = [], [], []
    for candidate in expired:
        if dry_run:
            continue
        try:
            ec2(region).delete_snapshot(SnapshotId=candidate.id)
            deleted.append(candidate.id)
        except ClientError as exc:
            code = error_code(exc)
            if code == "InvalidSnapshot.InUse":          # e.g. backs an AMI: skipped and reported
                in_use.append(candidate.id)
            elif code == "InvalidSnapshot.NotFound":     # already gone: nothing to do
                gone.append(candidate.id)
            else:
                raise
    expired_ids = {c.id for c in expired}
    return {
        "volumeId": volume_id, "region": region, "retain": keep, "maxAgeDays": max_age_days, "dryRun": dry_run,
        "managed": len(managed),
        "kept": [s["SnapshotId"] for s in sorted(managed, key=lambda s: (point_in_time(s), s["SnapshotId"]))
                 if s["SnapshotId"] not in expired_ids],
        "deleted": deleted, "wouldDelete": [c.id for c in expired] if dry_run else [],
        "heldForDR": held, "skippedInUse": in_use, "alreadyGone": gone,
    }


def _int_env(name: str) -> int | None:
    raw = os.environ.get(name, "")
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise RetentionError(f"{name} must be an integer, got {raw!r}") from None
    if value < 1:
        raise RetentionError(f"{name} must be >= 1, got {value}")
    return value


@lambda_handler
def handler(event: dict, context: object) -> dict:
    """`{"snapshot": {"id", "region"}, "volumeId"}` (the event's snapshot is kept) or `{"region", "volumeId"}`."""
    if not isinstance(event, dict):
        raise RetentionError(f"input must be an object, got {type(event).__name__}")
    snapshot = event.get("snapshot")
    if snapshot is not None and not isinstance(snapshot, dict):
        raise RetentionError(f"snapshot must be an object with id and region, got {snapshot!r}")
    keep = _int_env("RETAIN")
    if keep is None:
        raise RetentionError("RETAIN is not set")
    return enforce_retention(snapshot_id=snapshot.get("id") if snapshot else None,
                             region=snapshot.get("region") if snapshot else event.get("region"),
                             volume_id=event.get("volumeId"), keep=keep, max_age_days=_int_env("MAX_AGE_DAYS"),
                             dry_run=os.environ.get("DRY_RUN", "false").lower() == "true")
