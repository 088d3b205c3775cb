"""Which managed snapshots of one volume to delete: pure logic, no AWS."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Candidate:
    id: str
    start_time: datetime


def select_expired(snapshots: list[Candidate], *, keep: int, current: str | None, now: datetime,
                   max_age_days: int | None = None) -> list[Candidate]:
    """The snapshots to delete, oldest first.

    Newest first (start time, then id to break ties), keep the newest `keep`; with `max_age_days`, also
    expire kept ones older than that, but always keep the newest snapshot of the volume. The snapshot of
    the current event (`current`, when there is one) is never selected.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    newest_first = sorted(snapshots, key=lambda s: (s.start_time, s.id), reverse=True)
    expired = newest_first[keep:]
    if max_age_days is not None:
        cutoff = now - timedelta(days=max_age_days)
        expired += [s for s in newest_first[1:keep] if s.start_time < cutoff]
    return sorted((s for s in expired if s.id != current), key=lambda s: (s.start_time, s.id))
