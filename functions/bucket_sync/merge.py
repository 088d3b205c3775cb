"""The merge of two sorted listings: which objects to copy, which are unchanged, which are orphans. Pure: no AWS.

S3 lists keys in UTF-8 binary order, which for Python strings is code point order, so a single forward pass over
the source and destination listings (both relative to their prefixes) classifies every key with no per-object
request. The pass pulls one page at a time from whichever side runs out; it can stop between pages (a budget per
Lambda invocation) and resume later from `cursor`: every key <= cursor is classified, nothing after it is.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from concurrent.futures import Executor
from typing import Callable, Iterable, Iterator

from .model import is_multipart_etag


@dataclass(frozen=True)
class Entry:
    key: str        # relative to the side's prefix
    size: int
    etag: str       # without quotes


@dataclass(frozen=True)
class Copy:
    entry: Entry            # the source object
    reason: str             # "missing" | "changed" | "verify"

    @property
    def verify(self) -> bool:
        """The listing cannot decide: same size, the destination has a multipart ETag that differs from the
        source's. A copy made by opsflows with a different part layout records the source ETag in its metadata;
        the copier reads it (one HEAD, only for these) before copying."""
        return self.reason == "verify"


def compare(source: Entry, destination: Entry) -> str | None:
    """None if unchanged, else why it must be copied."""
    if source.size != destination.size:
        return "changed"
    if source.etag == destination.etag:
        return None
    return "verify" if is_multipart_etag(destination.etag) else "changed"


READ_AHEAD = 500                        # entries: below this a side's next page is fetched alongside the other's
SAMPLED, SAMPLE_EVERY = 32, 32          # the keys a pass remembers to guess split points from (~1 page)
Pages = Iterator[tuple[list[Entry], bool]]       # (entries, more pages after this one)


class Side:
    """One bucket's listing over a range (lo, hi], fetched a page at a time. Entries past `hi` belong to the next
    range: the first one seen ends this side (no request to find out). `carry` is what a previous pass fetched
    and did not classify, so a pass that stops between pages costs no request twice."""

    def __init__(self, pages: Pages, hi: str | None = None, carry: Iterable[Entry] = (), exhausted: bool = False):
        self._pages = pages
        self.hi = hi
        self.buffer: deque[Entry] = deque(carry)
        self.exhausted = exhausted
        self.pages = 0
        self.listed = 0
        self.last: str | None = None        # the last key fetched (where the next request starts after)

    def needs_page(self) -> bool:
        return not self.buffer and not self.exhausted

    def low(self) -> bool:
        """Less than half a page left and more to fetch: worth fetching together with the other side."""
        return not self.exhausted and len(self.buffer) < READ_AHEAD

    def fetch(self) -> None:
        page = next(self._pages, None)
        if page is None:
            self.exhausted = True
            return
        entries, more = page
        self.pages += 1
        if entries:
            self.last = entries[-1].key
        inside = entries if self.hi is None else [e for e in entries if e.key <= self.hi]
        self.buffer.extend(inside)
        self.exhausted = not more or len(inside) < len(entries)   # the page itself says the side is done

    def take(self) -> Entry:
        self.listed += 1
        return self.buffer.popleft()


@dataclass
class RangeScan:
    """What one pass found, and where it stopped."""

    copies: list[Copy] = field(default_factory=list)
    orphans: list[Entry] = field(default_factory=list)
    unchanged: int = 0
    listed_source: int = 0
    listed_destination: int = 0
    pages_source: int = 0
    pages_destination: int = 0
    steps: int = 0                     # page fetches one after another (both sides' at once count one)
    cursor: str | None = None          # every key <= cursor is classified
    done: bool = False                 # both listings are exhausted
    recent: deque = field(default_factory=lambda: deque(maxlen=SAMPLED))   # every SAMPLE_EVERY-th key classified
    first: str | None = None           # the first key this pass classified
    source: Side | None = None
    destination: Side | None = None


def _fetch(sides: list[Side], pool: Executor | None) -> None:
    if pool is None or len(sides) < 2:
        for side in sides:
            side.fetch()
    else:
        for future in [pool.submit(side.fetch) for side in sides]:
            future.result()


def merge(source_pages: Pages | Side, destination_pages: Pages | Side, *,
          start_after: str | None, stop: Callable[[RangeScan], bool],
          on_copy: Callable[[Copy], None] | None = None, pool: Executor | None = None) -> RangeScan:
    """Classify keys after `start_after` until both listings end, or `stop(progress)` says so when a page is due.

    `stop` is asked only before fetching a page and only once this pass has classified something, so every pass
    makes progress and stops on a key boundary. What the sides fetched and did not classify stays in their
    buffers (the caller carries it to the next pass). Both sides' pages are fetched at once when both are due
    (`pool`): one step of the listing's critical path.
    """
    source = source_pages if isinstance(source_pages, Side) else Side(source_pages)
    destination = destination_pages if isinstance(destination_pages, Side) else Side(destination_pages)
    scan = RangeScan(cursor=start_after, source=source, destination=destination)
    add_copy = on_copy or scan.copies.append
    classified = 0

    def sync_counts() -> None:
        scan.listed_source, scan.listed_destination = source.listed, destination.listed
        scan.pages_source, scan.pages_destination = source.pages, destination.pages

    while True:
        due = [side for side in (source, destination) if side.needs_page()]
        if due and pool is not None:        # read the other side ahead when it is low: both requests at once
            due += [side for side in (source, destination) if side not in due and side.low()]
        if due:
            sync_counts()
            if scan.cursor != start_after and stop(scan):
                return scan
            _fetch(due, pool)
            scan.steps += 1
            continue
        if not source.buffer and not destination.buffer:
            break
        if not destination.buffer or (source.buffer and source.buffer[0].key < destination.buffer[0].key):
            entry = source.take()
            add_copy(Copy(entry, "missing"))
        elif not source.buffer or destination.buffer[0].key < source.buffer[0].key:
            entry = destination.take()
            scan.orphans.append(entry)
        else:
            entry, other = source.take(), destination.take()
            reason = compare(entry, other)
            if reason is None:
                scan.unchanged += 1
            else:
                add_copy(Copy(entry, reason))
        if scan.first is None:
            scan.first = entry.key
        scan.cursor = entry.key
        classified += 1
        if classified % SAMPLE_EVERY == 0:
            scan.recent.append(entry.key)
    sync_counts()
    scan.done = True
    return scan
