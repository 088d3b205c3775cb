"""Enforce retention for one volume: keep the newest N managed snapshots (and, optionally, a maximum age)."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from common.errors import InvalidInput, error_code
from common.handler import lambda_handler

from .ec2 import ec2, managed_snapshots_of, start_time
from .model import SNAPSHOT_ID, VOLUME_ID
from .retention import Candidate, select_expired


class RetentionError(InvalidInput):
    """The retention input or settings are unusable (no volume, bad RETAIN)."""


def enforce_retention(*, snapshot_id: str, region: str, volume_id: str, keep: int, max_age_days: int | None,
                      dry_run: bool, now: datetime | None = None) -> dict:
    if not VOLUME_ID.match(volume_id or ""):
        raise RetentionError(f"volumeId must be an EBS volume id, got {volume_id!r}")
    if not SNAPSHOT_ID.match(snapshot_id or ""):
        raise RetentionError(f"snapshot id must be an EBS snapshot id, got {snapshot_id!r}")
    managed = managed_snapshots_of(volume_id, region)
    expired = select_expired([Candidate(s["SnapshotId"], start_time(s)) for s in managed], keep=keep,
                             current=snapshot_id, now=now or datetime.now(timezone.utc), max_age_days=max_age_days)
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
        "kept": [s["SnapshotId"] for s in sorted(managed, key=lambda s: (start_time(s), s["SnapshotId"]))
                 if s["SnapshotId"] not in expired_ids],
        "deleted": deleted, "wouldDelete": [c.id for c in expired] if dry_run else [],
        "skippedInUse": in_use, "alreadyGone": gone,
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
    snapshot = event.get("snapshot") or {}
    keep = _int_env("RETAIN")
    if keep is None:
        raise RetentionError("RETAIN is not set")
    return enforce_retention(snapshot_id=snapshot.get("id"), region=snapshot.get("region"),
                             volume_id=event.get("volumeId"), keep=keep, max_age_days=_int_env("MAX_AGE_DAYS"),
                             dry_run=os.environ.get("DRY_RUN", "false").lower() == "true")
