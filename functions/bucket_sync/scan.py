"""Scan: count the previous copy Map's results, plan and list the next stretch of both listings (itself for one
range, through the ListRanges Map for many), write manifests, and, once everything is listed and copied,
decide how the run ends.

Adaptive fan-out. The first pass lists from the first key, as the whole sync did before: a bucket that ends
within `FIRST_PASS_PAGES` pages a side costs exactly one LIST per 1,000 keys a bucket. A bigger one is split
into ranges listed at once by up to `listingParallelism` ListRanges children; each round, ranges that ended
free their slots and the ranges still going (a hot prefix) are split again. Splits are paid for by the
listing itself: a split costs at most two requests (one a bucket), and the run may make one only while
2 x splits <= SPLIT_ALLOWANCE + SPLIT_RATE x requests listed so far, so LIST requests stay under
1.05 x the lower bound + 10 whatever the keys. Rounds start short (splits follow quickly) and double up to
`pagesPerScan` pages a bucket.
"""
from __future__ import annotations

import os
from typing import Callable

from common.handler import lambda_handler

from .inventory import confirm_orphans, first_ranges, write_file_list
from .model import SyncRequest
from .ranges import Pass, Range, cut, list_pass, plan_key, read_result
from .s3 import get_manifest, put_manifest
from .state import CopyFailed, ScanState, TooManyDeletes, summary, tally

MAX_BATCHES = 400               # copy batches per scan: bounds one Map's result array (child outputs are small)
FIRST_PASS_PAGES = 4            # pages a bucket the first pass lists before fanning out (a small bucket: all)
SPLIT_ALLOWANCE = 8             # extra requests splits may cost before the listing has paid for them
SPLIT_RATE = 0.045              # ... and then per request listed (< 5% of the lower bound)
MIN_PAGES_A_PART = 2            # a range is cut only into parts that listed about this much in a pass


def scan(request: SyncRequest, state: ScanState, copy_results: list, *, pages_per_scan: int, batch_objects: int,
         parallelism: int = 1, remaining_ms: Callable[[], float] = lambda: float("inf")) -> ScanState:
    state.iterations += 1
    previous = state.phase
    state.phase, state.batches = "scan", []
    tally(state, copy_results, request)
    budget = Budget(pages_per_scan, batch_objects, parallelism, remaining_ms)
    if previous == "list":
        absorb_round(request, state)
    if not state.listingDone and not state.batches:
        if request.inventory is not None and state.seq == 0:
            write_file_list(request)                        # IndexInventory reads it, then the plan starts
            state.seq, state.phase = 1, "index"
        elif state.plan is None and request.inventory is None:
            if inline_pass(request, state, budget) and not state.batches:
                plan_round(request, state, budget)          # fan out now
        else:
            plan_round(request, state, budget)
    if state.batches:
        state.phase = "copy"
    elif state.listingDone:
        finish(request, state)
    return state


class Budget:
    def __init__(self, pages_per_scan: int, batch_objects: int, parallelism: int, remaining_ms: Callable):
        self.pages, self.batch_objects, self.parallelism = pages_per_scan, batch_objects, max(1, parallelism)
        self.remaining_ms = remaining_ms

    def first_pass(self) -> int:
        return self.pages if self.parallelism == 1 else min(self.pages, FIRST_PASS_PAGES)

    def next_pass(self, state: ScanState, ranges: int = 1) -> int:
        """Pages a bucket for the next pass: short while the fan-out grows (splits follow the listing's
        progress), doubling up to pagesPerScan once at least half the slots are busy."""
        if self.parallelism == 1:
            return self.pages
        if 2 * ranges >= self.parallelism or ranges >= 2 * state.listing.rounds + 1:
            state.listing.rounds += 1
        return min(self.pages, FIRST_PASS_PAGES * 2 ** state.listing.rounds)


def _add(state: ScanState, request: SyncRequest, done: Pass) -> None:
    c = state.counts
    c.listedSource += done.listedSource
    c.listedDestination += done.listedDestination
    c.skippedUnchanged += done.unchanged
    c.toCopy += done.toCopy
    c.bytesToCopy += done.bytesToCopy
    c.orphans += done.orphans
    c.stale += done.stale
    state.listing.lists += done.lists
    state.batches += done.batches
    for kind in ("copy", "delete"):
        for key in done.samples[kind]:
            state.sample(kind, key)


def inline_pass(request: SyncRequest, state: ScanState, budget: Budget) -> bool:
    """One range from the cursor, listed by this invocation (the whole sync of a small bucket); True when the
    bucket turned out big enough to fan out (the plan is stored)."""
    rng = Range.first(state.cursor)
    first = state.seq == 0
    seq, state.seq = state.seq, state.seq + 1
    done = list_pass(request, rng, run=state.run, seq=seq,
                     pages=budget.first_pass() if first else budget.next_pass(state), batch_objects=budget.batch_objects,
                     max_batches=MAX_BATCHES, remaining_ms=budget.remaining_ms, on_orphans=confirm_orphans(request))
    _add(state, request, done)
    state.listing.path += done.steps
    if rng.done:
        state.listingDone = True
        return False
    # A dry run writes nothing at all, not even a plan: it lists as one range.
    parts = {} if request.dry_run else affordable_parts(state, [rng], budget)
    if parts.get(rng.id, 1) > 1:
        ranges = cut(rng, parts[rng.id], _ids(state))
        if len(ranges) > 1:
            state.listing.splits += len(ranges) - 1
            store(state, ranges)
            return True
    state.cursor = rng.cursor          # go on from the cursor next time (the other side re-lists < 1 page)
    return False


def _ids(state: ScanState) -> Callable[[], int]:
    def new_id() -> int:
        state.listing.ranges += 1
        return state.listing.ranges - 1
    return new_id


def affordable_parts(state: ScanState, ranges: list[Range], budget: Budget) -> dict[int, int]:
    """How many parts to cut each unfinished range into: fill the free slots, the biggest ranges first, while
    the splits stay paid for (module docstring)."""
    growing = [r for r in ranges if not r.done]
    slots = budget.parallelism - len(growing)
    c = state.counts                # the lower bound so far: LISTs, copies, DeleteObjects
    lower = state.listing.lists + c.toCopy + -(-c.orphans // 1000)
    allowed = int((SPLIT_ALLOWANCE + SPLIT_RATE * lower) // 2) - state.listing.splits
    # Only a range that used a whole pass's pages is big (a bucket that ends within the first pass never is).
    big = [r for r in growing if r.lastPages >= max(2 * MIN_PAGES_A_PART, FIRST_PASS_PAGES) and r.sample]
    parts = {r.id: 1 for r in growing}
    left = {r.id: r.remaining() for r in big}
    while slots > 0 and allowed > 0 and big:
        r = max(big, key=lambda r: left[r.id] / parts[r.id])
        if left[r.id] / (parts[r.id] + 1) < MIN_PAGES_A_PART:
            break
        parts[r.id] += 1
        slots, allowed = slots - 1, allowed - 1
    return parts


def store(state: ScanState, ranges: list[Range]) -> None:
    """The ranges still to list, in the state bucket (they carry entries: a payload could not)."""
    state.seq += 1
    state.plan = plan_key(state.run, state.seq)
    put_manifest(state.plan, {"run": state.run, "seq": state.seq, "ranges": [r.to_json() for r in ranges]})


def save_plan(state: ScanState, ranges: list[Range], budget: Budget) -> None:
    """The round's plan in the state bucket (ranges carry entries; a payload could not), and the ids to list."""
    open_ranges = [r for r in ranges if not r.done]
    pages = budget.next_pass(state, len(open_ranges))
    state.plan = plan_key(state.run, state.seq)
    put_manifest(state.plan, {"run": state.run, "seq": state.seq, "pages": pages,
                              "batches": max(1, MAX_BATCHES // max(1, len(open_ranges))),
                              "ranges": [r.to_json() for r in ranges]})
    state.ranges = [r.id for r in open_ranges]
    state.listing.widest = max(state.listing.widest, len(open_ranges))
    state.phase = "list"


def plan_round(request: SyncRequest, state: ScanState, budget: Budget) -> None:
    """Many ranges: cut the big ones into the free slots, then list them (ListRanges), or list the only one left
    here."""
    if state.plan is None:                              # sourceInventory: the index tells where keys are
        ranges = first_ranges(request, budget.parallelism, SPLIT_ALLOWANCE, SPLIT_RATE)
        state.listing.ranges = max(r.id for r in ranges) + 1
        state.listing.splits += len(ranges) - 1
    else:
        ranges = [Range.from_json(r) for r in get_manifest(state.plan)["ranges"]]
    parts = affordable_parts(state, ranges, budget)
    cut_ranges: list[Range] = []
    for r in ranges:
        if r.done:
            continue
        pieces = cut(r, parts.get(r.id, 1), _ids(state)) if parts.get(r.id, 1) > 1 else [r]
        state.listing.splits += len(pieces) - 1
        cut_ranges += pieces
    if not cut_ranges:
        state.listingDone = True
        return
    state.seq += 1
    if len(cut_ranges) == 1:
        (rng,) = cut_ranges
        done = list_pass(request, rng, run=state.run, seq=state.seq, pages=budget.next_pass(state),
                         batch_objects=budget.batch_objects, max_batches=MAX_BATCHES,
                         remaining_ms=budget.remaining_ms, on_orphans=confirm_orphans(request))
        _add(state, request, done)
        state.listing.path += done.steps
        if rng.done:
            state.listingDone = True
            return
        store(state, [rng])
        return
    save_plan(state, cut_ranges, budget)


def absorb_round(request: SyncRequest, state: ScanState) -> None:
    """The ListRanges children's results: counts, manifests, and where each range stands now."""
    plan = get_manifest(state.plan)
    ranges = {r["id"]: Range.from_json(r) for r in plan["ranges"]}
    longest = 0
    for range_id in state.ranges:
        result = read_result(state.run, plan["seq"], range_id)
        done = Pass(**{**result, "range": Range.from_json(result["range"])})
        ranges[range_id] = done.range
        _add(state, request, done)
        longest = max(longest, done.steps)
    state.listing.path += longest
    state.ranges = []
    remaining = [r for r in ranges.values() if not r.done]
    if not remaining:
        state.listingDone = True
        return
    store(state, remaining)


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
                 parallelism=int(os.environ.get("LISTING_PARALLELISM", "1")),
                 remaining_ms=remaining or (lambda: float("inf")))
    return {**event, "scan": state.to_json(), "copyResults": []}
