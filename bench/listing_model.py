"""The bucket sync's listing planner run against a modelled bucket of up to billions of keys: the planner's own code
(scan.affordable_parts, ranges.cut, the round budgets) decides every split; only the LIST requests are modelled
(a request returns the next 1,000 keys of a key family computed by rank, as S3 would list them). Counts, not
timings: LIST requests and the critical path (requests that must happen one after another), from which wall
time is projected at a per-LIST latency.

    .venv/bin/python bench/listing_model.py [--objects 1000000000]

A no-op rerun is modelled (both buckets hold the same keys, so both sides page in step): the case whose time is
listing alone. The measured counterpart at 10,000 and 100,000 objects is bench/bucket_listing.py.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from bucket_sync import scan as planner  # noqa: E402
from bucket_sync.ranges import Range, cut  # noqa: E402
from bucket_sync.state import ScanState  # noqa: E402

PAGE = 1000
ROUND_OVERHEAD_S = 2.0          # per ListRanges round: Scan invocation + Map start + Lambda start (assumed)


@dataclass(frozen=True)
class Family:
    """`count` keys fmt.format(i), i = 0..count-1, sorted as strings (fixed-width numbers)."""
    fmt: str
    count: int

    def key(self, i: int) -> str:
        return self.fmt.format(i)


class Bucket:
    """Disjoint key families, in key order: rank and select without holding the keys."""

    def __init__(self, families: list[Family]):
        self.families = sorted(families, key=lambda f: f.key(0))
        self.total = sum(f.count for f in self.families)

    def rank(self, key: str | None) -> int:
        """Keys <= key."""
        if key is None:
            return self.total
        out = 0
        for f in self.families:
            lo, hi = 0, f.count                     # first i with key(i) > key
            while lo < hi:
                mid = (lo + hi) // 2
                if f.key(mid) <= key:
                    lo = mid + 1
                else:
                    hi = mid
            out += lo
            if lo < f.count:
                break
        return out

    def select(self, r: int) -> str:
        """The key of rank r (1-based)."""
        for f in self.families:
            if r <= f.count:
                return f.key(r - 1)
            r -= f.count
        raise IndexError(r)


def list_range(bucket: Bucket, rng: Range, pages: int) -> tuple[int, int]:
    """One pass over rng with both buckets equal: (LIST requests, steps); updates rng as absorb would."""
    start = 0 if rng.cursor is None else bucket.rank(rng.cursor)
    end = bucket.rank(rng.hi)
    rng.start = rng.cursor if rng.cursor is not None else bucket.select(1)
    n = end - start
    beyond = rng.hi is not None and end < bucket.total
    needed = max(1, n // PAGE + 1 if beyond else -(-n // PAGE))
    if needed <= pages:
        rng.done, steps = True, needed
        last = end
    else:
        steps, last = pages, start + pages * PAGE
        rng.cursor = bucket.select(last)
        rng.after = {"source": rng.cursor, "destination": rng.cursor}
    rng.sample = [bucket.select(r) for r in range(max(start + 1, last - PAGE + 1), last + 1, 32)][-48:] \
        or rng.sample
    rng.lastPages = 2 * steps
    rng.pages += 2 * steps
    return 2 * steps, steps


def model(bucket: Bucket, parallelism: int, pages_per_scan: int = 1000) -> dict:
    state = ScanState(run="model")
    budget = planner.Budget(pages_per_scan, 1000, parallelism, lambda: float("inf"))
    first = Range.first()
    lists, steps = list_range(bucket, first, budget.first_pass())
    state.listing.lists, state.listing.path = lists, steps
    ranges, rounds, passes = [first], 0, 1
    while True:
        ranges = [r for r in ranges if not r.done]
        if not ranges:
            break
        parts = planner.affordable_parts(state, ranges, budget)
        cut_ranges = []
        for r in ranges:
            pieces = cut(r, parts.get(r.id, 1), planner._ids(state)) if parts.get(r.id, 1) > 1 else [r]
            state.listing.splits += len(pieces) - 1
            cut_ranges += pieces
        ranges = cut_ranges
        pages = budget.next_pass(state, len(ranges))
        rounds += len(ranges) > 1
        longest = 0
        passes += len(ranges)
        for r in ranges:
            n, s = list_range(bucket, r, pages)
            state.listing.lists += n
            longest = max(longest, s)
        state.listing.path += longest
        state.listing.widest = max(state.listing.widest, len(ranges))
    lower = 2 * max(1, -(-bucket.total // PAGE))
    return {"lists": state.listing.lists, "lower": lower, "path": state.listing.path, "rounds": rounds,
            "passes": passes,
            "ranges": state.listing.ranges, "widest": state.listing.widest}


def buckets(n: int) -> dict[str, Bucket]:
    width = len(str(n))
    return {
        "uniform ids": Bucket([Family("data/{:0%dd}.json" % width, n)]),
        "90% under one prefix": Bucket([Family("hot/{:0%dd}" % width, n * 9 // 10),
                                        Family("k{:0%dd}" % width, n - n * 9 // 10 - 1000),
                                        Family("\u00fc/{:04d}", 1000)]),
        "hex hashes": Bucket([Family("{:0%dx}" % (width + 2), n)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000_000)
    parser.add_argument("--parallelism", default="1,8,32")
    args = parser.parse_args()
    print(f"Listing {args.objects:,} objects a bucket (no-op rerun, both buckets equal), planner code, LISTs modelled")
    print(f"{'keys':<22}{'parallelism':>12}{'LIST calls':>14}{'lower bound':>13}{'critical path':>15}{'rounds':>8}"
          f"{'@0.1 s':>10}{'@0.3 s':>10}")
    for name, bucket in buckets(args.objects).items():
        for p in [int(x) for x in args.parallelism.split(",")]:
            m = model(bucket, p)
            fast = (m["path"] * 0.1 + m["rounds"] * ROUND_OVERHEAD_S) / 3600
            slow = (m["path"] * 0.3 + m["rounds"] * ROUND_OVERHEAD_S) / 3600
            print(f"{name:<22}{p:>12}{m['lists']:>14,}{m['lower']:>13,}{m['path']:>15,}{m['rounds']:>8}"
                  f"{fast:>9.2f}h{slow:>9.2f}h")


if __name__ == "__main__":
    main()
