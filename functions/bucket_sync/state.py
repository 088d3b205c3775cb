"""The running state of one sync, carried between Scan invocations (and into continuation executions): where the
listing stopped, what has been counted, a sample of keys. Small by construction: no item lists, ever."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from common.errors import OpsflowsError, aws_error

from .model import InvalidSyncInput, SyncRequest

SAMPLE = 10                 # keys kept per sample (copy, delete, failed)
RUN = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


class CopyFailed(OpsflowsError):
    """Some objects could not be copied; nothing was deleted. The message counts them and names a few."""


class TooManyDeletes(OpsflowsError):
    """The sync would delete more orphans than the execution's maxDeletes; nothing was deleted."""


@dataclass
class Counts:
    listedSource: int = 0
    listedDestination: int = 0
    toCopy: int = 0                 # missing or changed (or to verify) in the merge
    bytesToCopy: int = 0
    copied: int = 0
    bytesCopied: int = 0
    skippedUnchanged: int = 0
    failed: int = 0
    orphans: int = 0
    stale: int = 0                  # sourceInventory: gone or changed at the source since the inventory


@dataclass
class Listing:
    """What listing cost so far: requests, the longest chain of them, and the ranges it fanned out to."""

    lists: int = 0                  # LIST requests on both buckets (inventory: index pages read)
    path: int = 0                   # of them, one after another (the listing's critical path)
    splits: int = 0
    ranges: int = 1                 # ranges made so far (ids)
    rounds: int = 0                 # doublings of the pass budget since the first pass (scan.Budget.next_pass)
    widest: int = 1                 # most ranges listed at once


@dataclass
class ScanState:
    run: str                                    # the first execution's name: names this run's manifests
    cursor: str | None = None                   # every relative key <= cursor is classified
    listingDone: bool = False
    seq: int = 0                                # scans so far in the whole run (names manifests)
    iterations: int = 0                         # scans in this execution (bounded: then continue as new)
    phase: str = "scan"                         # what the state machine does next: scan | copy | delete | done
    batches: list[str] = field(default_factory=list)    # phase "copy": the copy batch manifests, one per child
    counts: Counts = field(default_factory=Counts)
    listing: Listing = field(default_factory=Listing)
    plan: str | None = None                     # many ranges: the plan object in the state bucket
    ranges: list[int] = field(default_factory=list)     # phase "list": the range ids the ListRanges Map lists
    samples: dict[str, list[str]] = field(default_factory=lambda: {"copy": [], "delete": [], "failed": []})
    result: dict | None = None

    @property
    def continue_as(self) -> str:
        """The name of the execution that continues this one from here: the same on a retried StartExecution,
        which AWS then answers with the execution already started rather than a second one."""
        return f"{self.run[:64]}-c{self.seq:06d}"

    def to_json(self) -> dict:
        return {**asdict(self), "continueAs": self.continue_as}

    @classmethod
    def from_json(cls, data: Any) -> "ScanState":
        if not isinstance(data, dict) or not isinstance(data.get("run"), str) or not RUN.match(data["run"]):
            raise InvalidSyncInput("continuation.scan is not a scan state written by this workflow")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}    # continueAs is derived
        try:
            counts = Counts(**(known.pop("counts", None) or {}))
            listing = Listing(**(known.pop("listing", None) or {}))
            state = cls(**known, counts=counts, listing=listing)
        except TypeError as exc:
            raise InvalidSyncInput(f"continuation.scan is not a scan state written by this workflow: {exc}") from None
        return state

    def sample(self, kind: str, key: str) -> None:
        if len(self.samples[kind]) < SAMPLE:
            self.samples[kind].append(key)


def tally(state: ScanState, results: list[Any], request: SyncRequest) -> None:
    """Add one copy Map's results to the counts. A batch that hit an account-level error (AccessDenied,
    NoSuchBucket, ...) stopped early: that ends the run now, named by the AWS error code."""
    counts = state.counts
    fatal = None
    for result in results:
        if not isinstance(result, dict):
            continue
        counts.copied += result.get("copied", 0)
        counts.bytesCopied += result.get("bytes", 0)
        counts.skippedUnchanged += result.get("skipped", 0)
        counts.stale += result.get("stale", 0)
        counts.failed += result.get("failed", 0) + result.get("notAttempted", 0)
        for failure in result.get("failures", []):
            state.sample("failed", failure)
        fatal = fatal or result.get("fatal")
    if fatal:
        raise aws_error(fatal["code"])(
            f"copying {request.source.url} -> {request.destination.url} stopped: {fatal['code']}: {fatal['message']}; "
            f"{counts.failed} object(s) not copied, {counts.copied} copied so far; nothing was deleted")


def summary(state: ScanState, request: SyncRequest, deleting: bool) -> dict:
    """The execution's output: what was listed, copied, skipped, deleted, failed (and a sample of keys)."""
    c = state.counts
    out = {
        "source": request.source.url, "destination": request.destination.url, "dryRun": request.dry_run,
        "listedSource": c.listedSource, "listedDestination": c.listedDestination,
        "copied": c.copied, "skippedUnchanged": c.skippedUnchanged, "deleted": c.orphans if deleting else 0,
        "failed": c.failed, "bytesCopied": c.bytesCopied, "orphans": c.orphans,
        "sample": {"copy": state.samples["copy"], "delete": state.samples["delete"]},
        "listing": {"requests": state.listing.lists, "criticalPath": state.listing.path,
                    "ranges": state.listing.ranges, "widest": state.listing.widest},
    }
    if request.inventory is not None:
        out["staleSinceInventory"] = c.stale
    if request.dry_run:
        out.update(wouldCopy=c.toCopy, wouldCopyBytes=c.bytesToCopy, wouldDelete=c.orphans if
                   request.delete_orphans else 0)
        if request.delete_orphans and request.max_deletes is not None and c.orphans > request.max_deletes:
            out["wouldExceedMaxDeletes"] = True
    return out
