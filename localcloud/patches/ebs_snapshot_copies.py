"""EBS snapshot copies as AWS runs them, for what the DR copy queue relies on:

- A copy stays `pending` for as long as it takes (minutes to many hours), then becomes `completed` (or `error`
  when AWS fails it); moto completes it inside the CopySnapshot call. Here a copy stays pending for
  `duration(copy)` simulated seconds on the local cloud's one clock (default 60 s; a scenario, test or bench sets
  its own with `set_duration`), and `LocalCloud.run_until_idle` waits for copies under way.
- At most 20 copies are in flight into one destination Region per account (not adjustable); beyond that
  CopySnapshot answers `ResourceLimitExceeded` and makes nothing. moto has no limit.
- The `copySnapshot` EBS Snapshot Notification reaches the destination Region's default bus when the copy
  completes, `result: succeeded`, or `failed` with AWS's cause; moto emits none.
- Deleting a pending copy cancels it (it frees its slot; no event follows).
- A copy AWS fails is injected with the fault kind `ec2.SnapshotCopy[@match]=<cause>` (localcloud.faults).
- CopySnapshot with Encrypted=true (or a KmsKeyId) makes an encrypted copy; moto copies the source's flag.

`COPIES` records every copy (requested, started and finished on the simulated clock) and the rejections per
Region, the figures the fleet benchmark reports. `hold()` keeps copies from progressing until `release()`: the
fleet benchmark holds them while the local cloud (which runs one Lambda invocation at a time) takes in a burst
that AWS takes in within seconds.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_block_store import Snapshot
from moto.ec2.responses.elastic_block_store import ElasticBlockStore

from .. import clock, events, faults

LIMIT = 20                       # concurrent copies per destination Region (EBS quota, not adjustable)
DEFAULT_DURATION = 60.0          # simulated seconds a copy is pending unless a duration is set


@dataclass
class Copy:
    id: str                      # the copy (in the destination Region)
    region: str                  # destination Region
    source_id: str
    source_region: str
    account: str
    requested: float             # clock.elapsed() when CopySnapshot accepted it
    duration: float              # simulated seconds it stays pending
    started: float | None = None # when it began progressing (= requested unless held)
    finished: float | None = None
    result: str | None = None    # succeeded | failed (None while pending)
    cause: str = ""


class CopyQuotaExceeded(EC2ClientError):
    def __init__(self, region: str) -> None:
        super().__init__("ResourceLimitExceeded",
                         f"You have reached the limit of {LIMIT} concurrent snapshot copies to {region}. "
                         "Wait for a copy to complete, then try again.")


class Copies:
    """The copies of one local cloud: which are in flight, how long each takes, what was refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[str, Copy] = {}
        self.rejections: Counter[str] = Counter()          # destination Region -> CopySnapshot refused
        self.duration: Callable[[Copy], float] = lambda copy: DEFAULT_DURATION
        self.running = threading.Event()                    # cleared while held
        self.running.set()
        self.ended: dict[str, threading.Event] = {}         # copy id -> set when it ends early (deleted)

    def hold(self) -> None:
        self.running.clear()

    def release(self) -> None:
        self.running.set()

    def cancel(self, copy_id: str | None = None) -> None:
        """End a pending copy's wait (it was deleted), or every one (the cloud ended)."""
        for key, ended in list(self.ended.items()):
            if copy_id is None or key == copy_id:
                ended.set()
        if copy_id is None:
            self.running.set()

    def in_flight(self, region: str, account: str) -> int:
        """Copies pending into `region` (deleting a pending copy cancels it, as in AWS)."""
        held = ec2_backends[account][region].snapshots
        return sum(1 for c in self.records.values() if c.result is None and c.region == region
                   and c.account == account and c.id in held)

    def of(self, region: str | None = None) -> list[Copy]:
        with self.lock:
            return [c for c in self.records.values() if region is None or c.region == region]


COPIES = Copies()


def reset() -> None:
    """A new local cloud: no copy in flight, the default duration. Copies still pending from an earlier cloud
    end at once and do nothing."""
    global COPIES
    COPIES.cancel()
    COPIES = Copies()


def set_duration(duration: float | Callable[[Copy], float]) -> None:
    """How long copies requested from now on stay pending (simulated seconds): a number, or a function of the
    copy (its source snapshot, Regions, ...)."""
    COPIES.duration = duration if callable(duration) else (lambda copy, seconds=float(duration): seconds)


def apply() -> None:
    original_copy = ElasticBlockStore.copy_snapshot
    original_delete = ElasticBlockStore.delete_snapshot
    Snapshot.progress = property(lambda s: "100%" if s.status == "completed" else "0%")

    def delete_snapshot(self):
        result = original_delete(self)
        COPIES.cancel(self._get_param("SnapshotId"))
        return result

    def copy_snapshot(self):
        model = COPIES
        with model.lock:
            if model.in_flight(self.region, self.current_account) >= LIMIT:
                model.rejections[self.region] += 1
                raise CopyQuotaExceeded(self.region)
            result = original_copy(self)
            snapshot = self.ec2_backend.get_snapshot(getattr(result, "result", result)["SnapshotId"])
            snapshot.status = "pending"
            if str(self._get_param("Encrypted", "false")).lower() == "true" or self._get_param("KmsKeyId"):
                snapshot.encrypted = True
                snapshot.kms_key_id = self._get_param("KmsKeyId") or "alias/aws/ebs"
            copy = Copy(snapshot.id, self.region, self._get_param("SourceSnapshotId"), self._get_param("SourceRegion"),
                        self.current_account, clock.elapsed(), 0.0)
            copy.duration = max(0.0, float(model.duration(copy)))
            model.records[copy.id] = copy
            model.ended[copy.id] = threading.Event()
        threading.Thread(target=_run, args=(model, copy), name=f"copy-{copy.id}", daemon=True).start()
        return result

    ElasticBlockStore.copy_snapshot = copy_snapshot
    ElasticBlockStore.delete_snapshot = delete_snapshot


def _run(model: Copies, copy: Copy) -> None:
    with clock.operation("snapshot-copy"):
        ended = model.ended[copy.id]
        while not model.running.wait(0.05):          # held: not progressing yet
            if ended.is_set():
                return
        copy.started = clock.elapsed()
        clock.SLEPT["snapshot-copy"].append(copy.duration)
        if ended.wait(clock.to_real(copy.duration)):  # the one clock, cut short when the copy is deleted
            return
        _complete(model, copy)
        model.ended.pop(copy.id, None)


def _complete(model: Copies, copy: Copy) -> None:
    if model is not COPIES:                    # a copy of a cloud that has ended
        return
    injector = faults.active()
    fault = injector.decide("ec2", "SnapshotCopy", {
        "SourceSnapshotId": copy.source_id, "SourceRegion": copy.source_region, "DestinationRegion": copy.region,
    }, "copy") if injector else None        # keyed by the source: a copy made again counts as the fault retried
    snapshot = ec2_backends[copy.account][copy.region].snapshots.get(copy.id)
    with model.lock:
        copy.finished = clock.elapsed()
        copy.result = "failed" if fault else "succeeded"
        copy.cause = (fault.message or faults.COPY_FAILURES[fault.code]) if fault else ""
        if snapshot is not None:
            snapshot.status = "error" if fault else "completed"
    if snapshot is None:                       # deleted while pending: nothing completes, nothing is announced
        return
    events.emit_ebs_snapshot(copy.account, copy.region, "copySnapshot", copy.id, result=copy.result,
                             cause=copy.cause, source=f"arn:aws:ec2::{copy.source_region}:snapshot/{copy.source_id}")
