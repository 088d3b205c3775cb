"""Key ranges listed in parallel: one range's state between passes, how a range is split, one listing pass over
a range (used by the Scan itself for a single range and by the ListRanges children for many), and the handler
of a ListRanges child.

A range is (lo, hi] of relative keys. Both buckets are listed over the same bounds and merged, so every key is
classified in exactly one range. What a pass fetched and did not classify (`carry`) and where each side's next
request starts (`after`) are kept with the range, so stopping between pages costs no request twice; a split
hands each part the carried entries that fall inside it. A split costs at most one extra request per bucket
(the lower part's last page reads past the split point).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from common.handler import lambda_handler

from .batches import Batcher
from .keyspace import Radix, alphabets, split_points
from .merge import Copy, Entry, RangeScan, Side, merge
from .model import SyncRequest
from .s3 import get_manifest, listing, put_manifest
from .sources import source_pages

SIDES = ("source", "destination")
SAMPLE_KEYS = 48            # keys kept per range to guess split points from (the ones around its cursor)
MAX_ORPHANS = 1_000_000     # orphans per manifest
TIME_MARGIN_MS = 120_000    # stop listing with this much of the Lambda's time left


def _after(a: str | None, b: str | None) -> bool:
    """a > b, with None below every key."""
    return a is not None and (b is None or a > b)


@dataclass
class Range:
    id: int
    lo: str | None = None                   # exclusive (None: from the first key)
    hi: str | None = None                   # inclusive (None: to the last key)
    cursor: str | None = None               # every key <= cursor of this range is classified
    after: dict = field(default_factory=lambda: {"source": None, "destination": None})    # next StartAfter
    carry: dict = field(default_factory=lambda: {"source": [], "destination": []})        # [key, size, etag]
    exhausted: dict = field(default_factory=lambda: {"source": False, "destination": False})
    done: bool = False
    pages: int = 0                          # requests this range made, both buckets
    lastPages: int = 0                      # requests of its last pass (a range that used its budget is big)
    start: str | None = None                # the cursor when its last pass began
    sample: list = field(default_factory=list)

    @classmethod
    def first(cls, cursor: str | None = None) -> "Range":
        return cls(id=0, cursor=cursor, after={"source": cursor, "destination": cursor})

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Range":
        return cls(**data)

    def side(self, name: str, pages) -> Side:
        carry = [Entry(*e) for e in self.carry[name]]
        done = self.exhausted[name]
        return Side(iter(()) if done else pages, hi=self.hi, carry=carry, exhausted=done)

    def remaining(self) -> float:
        """Requests still to make, guessed: the last pass's requests times the key space left over the key space
        that pass covered (in the radix of the keys seen); an unbounded range is assumed big."""
        if self.done or not self.lastPages:
            return 0.0
        if self.hi is None:
            return 16.0 * self.lastPages
        radix = Radix(alphabets([*self.sample, *(k for k in (self.start, self.cursor, self.hi) if k)]))
        covered = radix.value(self.cursor or "") - radix.value(self.start or "")
        left = radix.value(self.hi) - radix.value(self.cursor or "")
        return self.lastPages * left / covered if covered > 0 else 16.0 * self.lastPages

    def absorb(self, scan: RangeScan) -> None:
        """Where the pass stopped: what each side fetched and did not classify, and where it goes on."""
        self.start = self.cursor if self.cursor is not None else scan.first
        self.cursor, self.done = scan.cursor, scan.done
        for name, side in (("source", scan.source), ("destination", scan.destination)):
            self.carry[name] = [[e.key, e.size, e.etag] for e in side.buffer]
            self.after[name] = side.last if side.last is not None else self.after[name]
            self.exhausted[name] = side.exhausted
        self.lastPages = scan.pages_source + scan.pages_destination
        self.pages += self.lastPages
        seen = sorted({*scan.recent, *([self.cursor] if self.cursor else []),
                       *(e[0] for name in SIDES for e in self.carry[name][::32])})
        self.sample = seen[-SAMPLE_KEYS:] or self.sample


def split(rng: Range, points: list[str], new_id: Callable[[], int]) -> list[Range]:
    """Cut a range's unclassified part (cursor, hi] at `points` (sorted, strictly inside)."""
    bounds = [rng.cursor, *points, rng.hi]
    parts = []
    for i in range(len(points) + 1):
        lo, hi = bounds[i], bounds[i + 1]
        part = Range(id=rng.id if i == 0 else new_id(), lo=lo, hi=hi, cursor=lo, sample=list(rng.sample))
        for name in SIDES:
            fetched = rng.after[name] if _after(rng.after[name], rng.cursor) else rng.cursor
            part.carry[name] = [e for e in rng.carry[name] if _after(e[0], lo) and (hi is None or e[0] <= hi)]
            if hi is not None and fetched is not None and fetched >= hi:
                part.after[name], part.exhausted[name] = fetched, True       # this part is fully fetched
            elif _after(fetched, lo):
                part.after[name], part.exhausted[name] = fetched, rng.exhausted[name]
            else:
                part.after[name], part.exhausted[name] = lo, rng.exhausted[name]
        parts.append(part)
    return parts


def cut(rng: Range, parts: int, new_id: Callable[[], int]) -> list[Range]:
    points = split_points(rng.cursor, rng.hi, parts, rng.sample, rng.start)
    return split(rng, points, new_id) if points else [rng]


@dataclass
class Pass:
    """One listing pass over one range: what it found, the manifests it wrote, what it cost."""

    range: Range
    listedSource: int = 0
    listedDestination: int = 0
    unchanged: int = 0
    toCopy: int = 0
    bytesToCopy: int = 0
    orphans: int = 0
    stale: int = 0                  # orphan candidates the source has (newer than the inventory): kept
    lists: int = 0                  # LIST requests (or inventory pages) made
    steps: int = 0                  # of them, one after another
    batches: list = field(default_factory=list)
    samples: dict = field(default_factory=lambda: {"copy": [], "delete": []})

    def to_json(self) -> dict:
        out = asdict(self)
        out["range"] = self.range.to_json()
        return out


def copy_manifest(run: str, seq: int, batch: int, part: str = "") -> str:
    return f"runs/{run}/copy/{seq:06d}/{part + '-' if part else ''}{batch:04d}.json"


def orphan_manifest(run: str, seq: int, part: str = "") -> str:
    return f"runs/{run}/orphans/{seq:06d}{'-' + part if part else ''}.json"


def list_pass(request: SyncRequest, rng: Range, *, run: str, seq: int, pages: int, batch_objects: int,
              max_batches: int, remaining_ms: Callable[[], float] = lambda: float("inf"),
              part: str = "", on_orphans: Callable[[list[Entry]], list[Entry]] | None = None) -> Pass:
    """List and merge the range until it ends or a budget (pages a bucket, copy batches, orphans, Lambda time)
    says stop between pages; write its copy batches and orphans as manifests (not in a dry run)."""
    batcher = Batcher(batch_objects)
    out = Pass(range=rng)

    def on_copy(copy: Copy) -> None:
        batcher.add(copy)
        if len(out.samples["copy"]) < 10:
            out.samples["copy"].append(request.source.key(copy.entry.key))

    def stop(progress: RangeScan) -> bool:
        return (progress.pages_source >= pages or progress.pages_destination >= pages
                or len(batcher.batches) >= max_batches or len(progress.orphans) >= MAX_ORPHANS
                or remaining_ms() < TIME_MARGIN_MS)

    source = rng.side("source", source_pages(request, rng.after["source"]))
    destination = rng.side("destination", listing(request.destination, rng.after["destination"]))
    with ThreadPoolExecutor(2) as pool:
        found = merge(source, destination, start_after=rng.cursor, stop=stop, on_copy=on_copy, pool=pool)
    orphans = on_orphans(found.orphans) if on_orphans else found.orphans
    rng.absorb(found)
    out.listedSource, out.listedDestination = found.listed_source, found.listed_destination
    out.unchanged, out.toCopy, out.bytesToCopy = found.unchanged, batcher.copies, batcher.bytes
    out.orphans, out.steps, out.stale = len(orphans), found.steps, len(found.orphans) - len(orphans)
    out.lists = found.pages_source + found.pages_destination
    out.samples["delete"] = [request.destination.key(o.key) for o in orphans[:10]]
    if not request.dry_run:
        for n, batch in enumerate(batcher.batches):
            out.batches.append(copy_manifest(run, seq, n, part))
            put_manifest(out.batches[-1], {"source": request.source.to_json(), "items": batch})
        if orphans and request.delete_orphans:
            put_manifest(orphan_manifest(run, seq, part), {"destination": request.destination.to_json(),
                                                           "keys": [o.key for o in orphans]})
    return out


def plan_key(run: str, seq: int) -> str:
    return f"runs/{run}/plan/{seq:06d}.json"


def result_key(run: str, seq: int, range_id: int) -> str:
    return f"runs/{run}/ranges/{seq:06d}/{range_id:06d}.json"


@lambda_handler
def handler(event: dict, context: object) -> dict:
    """A ListRanges child: one pass over one range of the round's plan; its result goes to the state bucket
    (a range's carried entries do not fit a Map result)."""
    request = SyncRequest.from_json(event["request"])
    plan = get_manifest(event["plan"])
    wanted = int(event["range"])
    (rng,) = [Range.from_json(r) for r in plan["ranges"] if r["id"] == wanted]
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    from .inventory import confirm_orphans
    done = list_pass(request, rng, run=plan["run"], seq=plan["seq"], pages=plan["pages"],
                     batch_objects=int(os.environ.get("BATCH_OBJECTS", "1000")), max_batches=plan["batches"],
                     remaining_ms=remaining or (lambda: float("inf")), part=f"{wanted:06d}",
                     on_orphans=confirm_orphans(request))
    put_manifest(result_key(plan["run"], plan["seq"], wanted), done.to_json())
    return {"range": wanted, "done": done.range.done}


def read_result(run: str, seq: int, range_id: int) -> dict[str, Any]:
    return get_manifest(result_key(run, seq, range_id))
