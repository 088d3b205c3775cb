"""Scan: count the previous copy Map's results, merge the next range of both listings into copy batches and
orphans (manifests in the state bucket), and, once everything is listed and copied, decide how the run ends."""
from __future__ import annotations

import os
from typing import Callable

from common.handler import lambda_handler

from .batches import Batcher
from .merge import Copy, RangeScan, merge
from .model import SyncRequest
from .s3 import listing, put_manifest
from .state import CopyFailed, ScanState, TooManyDeletes, summary, tally

MAX_BATCHES = 400               # copy batches per scan: bounds one Map's result array (child outputs are small)
MAX_ORPHANS = 1_000_000         # orphans per manifest
TIME_MARGIN_MS = 120_000        # stop listing with this much of the Lambda's time left


def copy_manifest(run: str, seq: int, batch: int) -> str:
    return f"runs/{run}/copy/{seq:06d}/{batch:04d}.json"


def orphan_manifest(run: str, seq: int) -> str:
    return f"runs/{run}/orphans/{seq:06d}.json"


def orphan_prefix(run: str) -> str:
    return f"runs/{run}/orphans/"


def scan(request: SyncRequest, state: ScanState, copy_results: list, *, pages_per_scan: int, batch_objects: int,
         remaining_ms: Callable[[], float] = lambda: float("inf")) -> ScanState:
    state.iterations += 1
    state.phase, state.batches = "scan", []
    tally(state, copy_results, request)
    if not state.listingDone:
        scan_range(request, state, pages_per_scan=pages_per_scan, batch_objects=batch_objects,
                   remaining_ms=remaining_ms)
    if state.listingDone and state.phase != "copy":
        finish(request, state)
    return state


def scan_range(request: SyncRequest, state: ScanState, *, pages_per_scan: int, batch_objects: int,
               remaining_ms: Callable[[], float]) -> None:
    batcher = Batcher(batch_objects)

    def on_copy(copy: Copy) -> None:
        batcher.add(copy)
        state.sample("copy", request.source.key(copy.entry.key))

    def stop(progress: RangeScan) -> bool:
        return (progress.pages_source >= pages_per_scan or progress.pages_destination >= pages_per_scan
                or len(batcher.batches) >= MAX_BATCHES or len(progress.orphans) >= MAX_ORPHANS
                or remaining_ms() < TIME_MARGIN_MS)

    found = merge(listing(request.source, state.cursor), listing(request.destination, state.cursor),
                  start_after=state.cursor, stop=stop, on_copy=on_copy)
    c = state.counts
    c.listedSource += found.listed_source
    c.listedDestination += found.listed_destination
    c.skippedUnchanged += found.unchanged
    c.toCopy += batcher.copies
    c.bytesToCopy += batcher.bytes
    c.orphans += len(found.orphans)
    for orphan in found.orphans[:10]:
        state.sample("delete", request.destination.key(orphan.key))

    seq, state.seq = state.seq, state.seq + 1
    state.phase = "scan"
    if not request.dry_run:
        for n, batch in enumerate(batcher.batches):
            state.batches.append(copy_manifest(state.run, seq, n))
            put_manifest(state.batches[-1], {"source": request.source.to_json(), "items": batch})
        if state.batches:
            state.phase = "copy"
        if found.orphans and request.delete_orphans:
            put_manifest(orphan_manifest(state.run, seq), {"destination": request.destination.to_json(),
                                                            "keys": [o.key for o in found.orphans]})
    state.cursor = found.cursor
    state.listingDone = found.done


def finish(request: SyncRequest, state: ScanState) -> None:
    """Everything is listed and copied: refuse to delete after a failed copy or beyond maxDeletes."""
    c = state.counts
    if c.failed:
        raise CopyFailed(f"{c.failed} of {c.toCopy} object(s) could not be copied from {request.source.url} to "
                         f"{request.destination.url} (e.g. {'; '.join(state.samples['failed'][:3])}); {c.copied} "
                         "copied; nothing was deleted")
    deleting = request.delete_orphans and not request.dry_run and c.orphans > 0
    if deleting and request.max_deletes is not None and c.orphans > request.max_deletes:
        raise TooManyDeletes(f"the sync would delete {c.orphans} orphan(s) from {request.destination.url}, more "
                             f"than maxDeletes ({request.max_deletes}); nothing was deleted ({c.copied} copied)")
    state.phase = "delete" if deleting else "done"
    state.result = summary(state, request, deleting)


@lambda_handler
def handler(event: dict, context: object) -> dict:
    request = SyncRequest.from_json(event["request"])
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    state = scan(request, ScanState.from_json(event["scan"]), event.get("copyResults") or [],
                 pages_per_scan=int(os.environ.get("PAGES_PER_SCAN", "1000")),
                 batch_objects=int(os.environ.get("BATCH_OBJECTS", "1000")),
                 remaining_ms=remaining or (lambda: float("inf")))
    return {**event, "scan": state.to_json(), "copyResults": []}
