"""Bucket sync's pure logic: the merge of two sorted listings, resuming between pages, batching, request
parsing, part layouts. No AWS."""
from __future__ import annotations

import pytest

from bucket_sync.batches import Batcher
from bucket_sync.copy import MIN_PART, part_ranges
from bucket_sync.merge import Copy, Entry, merge
from bucket_sync.model import (BucketNotAllowed, InvalidSyncInput, OverlappingLocations, Location,
                               parse_request)

ALLOWED = {"src", "dst", "shared"}


def pages(entries: list[Entry], start_after: str | None = None, size: int = 3, calls: list | None = None):
    """A fake listing: sorted, after `start_after`, `size` per page; `calls` counts the pages served."""
    remaining = sorted((e for e in entries if start_after is None or e.key > start_after), key=lambda e: e.key)
    for i in range(0, max(len(remaining), 1), size):
        if calls is not None:
            calls.append(1)
        yield remaining[i:i + size], i + size < len(remaining)


def e(key: str, size: int = 1, etag: str = "a") -> Entry:
    return Entry(key, size, etag)


def classify(source, destination, **kw):
    return merge(pages(source), pages(destination), start_after=None, stop=lambda _: False, **kw)


def test_merge_finds_missing_changed_unchanged_and_orphans():
    source = [e("a"), e("b", 2), e("c", etag="new"), e("d"), e("f")]
    destination = [e("b", 1), e("c", etag="old"), e("d"), e("e"), e("g")]
    scan = classify(source, destination)
    assert [(c.entry.key, c.reason) for c in scan.copies] == [("a", "missing"), ("b", "changed"), ("c", "changed"),
                                                             ("f", "missing")]
    assert [o.key for o in scan.orphans] == ["e", "g"]
    assert scan.unchanged == 1 and scan.done
    assert (scan.listed_source, scan.listed_destination) == (5, 5)


def test_multipart_destination_etag_that_differs_is_verified_not_blindly_copied():
    scan = classify([e("big", 10, "md5"), e("other", 10, "x-2")], [e("big", 10, "y-3"), e("other", 10, "z")])
    assert [(c.entry.key, c.reason, c.verify) for c in scan.copies] == [("big", "verify", True),
                                                                       ("other", "changed", False)]


def test_unicode_order_is_s3_order():
    keys = ["a b", "a+b", "a%b", "a?b", "é", "z", "日本", "\U0001F600", "A"]
    scan = classify([e(k) for k in keys], [])
    assert [c.entry.key for c in scan.copies] == sorted(keys)     # code point order == UTF-8 byte order


@pytest.mark.parametrize("budget", [1, 2, 3, 5])
def test_resuming_between_pages_classifies_every_key_once_and_wastes_at_most_a_page_per_pass(budget):
    source = [e(f"k{i:03d}") for i in range(0, 40)] + [e("zz", 5)]
    destination = [e(f"k{i:03d}") for i in range(0, 40, 2)] + [e(f"o{i}") for i in range(7)] + [e("zz", 4)]
    copies, orphans, unchanged, passes, calls = [], [], 0, 0, {"s": [], "d": []}
    cursor, done = None, False
    while not done:
        scan = merge(pages(source, cursor, calls=calls["s"]), pages(destination, cursor, calls=calls["d"]),
                     start_after=cursor, stop=lambda p: p.pages_source >= budget or p.pages_destination >= budget)
        copies += [c.entry.key for c in scan.copies]
        orphans += [o.key for o in scan.orphans]
        unchanged += scan.unchanged
        cursor, done, passes = scan.cursor, scan.done, passes + 1
    assert copies == [f"k{i:03d}" for i in range(1, 40, 2)] + ["zz"]
    assert orphans == [f"o{i}" for i in range(7)] and unchanged == 20
    lower = {"s": -(-len(source) // 3), "d": -(-len(destination) // 3)}
    for side in "sd":
        assert len(calls[side]) <= lower[side] + passes        # at most one re-listed page per pass


def test_a_pass_always_makes_progress_even_with_no_budget():
    scan = merge(pages([e("a"), e("b"), e("c"), e("d")]), pages([]), start_after=None, stop=lambda _: True)
    assert scan.cursor == "c" and not scan.done and len(scan.copies) == 3


def test_batches_are_cut_by_count_and_bytes():
    batcher = Batcher(max_objects=2, max_bytes=100)
    for entry in [e("a", 10), e("b", 10), e("c", 10), e("big", 500), e("d", 10)]:
        batcher.add(Copy(entry, "missing"))
    assert [[i[0] for i in b] for b in batcher.batches] == [["a", "b"], ["c"], ["big"], ["d"]]
    assert batcher.copies == 5 and batcher.bytes == 540


def test_request_parsing_defaults_and_locations():
    request = parse_request({"source": "src", "destination": "s3://dst/backup/", "prefix": "logs/"}, ALLOWED)
    assert request.source == Location("src", "logs/") and request.destination == Location("dst", "backup/logs/")
    assert (request.dry_run, request.delete_orphans, request.max_deletes) == (False, True, None)
    same_bucket = parse_request({"source": "shared/staging/", "destination": "shared/prod/"}, ALLOWED)
    assert same_bucket.destination.key("x") == "prod/x"


@pytest.mark.parametrize("event, error, words", [
    ({"source": "src", "destination": "src"}, OverlappingLocations, "same location"),
    ({"source": "shared/a/", "destination": "shared/a/b/"}, OverlappingLocations, "overlapping"),
    ({"source": "shared", "destination": "shared/x/"}, OverlappingLocations, "overlapping"),
    ({"source": "src", "destination": "elsewhere"}, BucketNotAllowed, "'elsewhere' is not in"),
    ({"source": "src", "destination": "dst", "dryrun": True}, InvalidSyncInput, "unknown input key(s) dryrun"),
    ({"source": "src", "destination": "dst", "dryRun": "yes"}, InvalidSyncInput, "dryRun must be true or false"),
    ({"source": "src", "destination": "dst", "maxDeletes": -1}, InvalidSyncInput, "maxDeletes"),
    ({"source": "Not_A_Bucket", "destination": "dst"}, InvalidSyncInput, "not a valid S3 bucket name"),
    ({"source": "arn:aws:s3:::src", "destination": "dst"}, InvalidSyncInput, "not an ARN"),
    ({"source": "src", "destination": "dst", "prefix": "a/../b/"}, InvalidSyncInput, "segment"),
    ({"source": "src", "destination": "dst", "prefix": "a\x00"}, InvalidSyncInput, "control character"),
    ({"source": "src", "destination": "dst", "sourceInventory": "dst/manifest.json"}, InvalidSyncInput, "s3://"),
    ({"source": "src", "destination": "dst/inv/", "sourceInventory": "s3://dst/inv/manifest.json"},
     OverlappingLocations, "inside the destination"),
    ({"destination": "dst"}, InvalidSyncInput, "source must be a bucket name"),
    ("src", InvalidSyncInput, "must be a JSON object"),
])
def test_refused_requests_name_the_problem(event, error, words):
    with pytest.raises(error, match=None) as raised:
        parse_request(event, ALLOWED)
    assert words in str(raised.value)


def test_part_layout_reproduces_the_source_or_falls_back():
    mib = 1024**2
    ranges, same = part_ranges(13 * mib, 5 * mib, 3, 8 * mib)
    assert same and ranges == [(0, 5 * mib - 1), (5 * mib, 10 * mib - 1), (10 * mib, 13 * mib - 1)]
    assert part_ranges(3 * mib, 3 * mib, 1, 8 * mib) == ([(0, 3 * mib - 1)], True)
    ranges, same = part_ranges(20 * mib, 20 * mib, None, 8 * mib)           # single-part source
    assert not same and [b - a + 1 for a, b in ranges] == [8 * mib, 8 * mib, 4 * mib]
    ranges, same = part_ranges(20 * mib, 5 * mib, 2, 8 * mib)               # uneven: 5 + 15 cannot be right
    assert not same
    huge = 6 * 1024**4
    ranges, _ = part_ranges(huge, None, None, MIN_PART)
    assert len(ranges) <= 10_000 and ranges[-1][1] == huge - 1


# -- parallel listing: split points and ranges ---------------------------------------------------------------------

import random  # noqa: E402

from bucket_sync.keyspace import split_points  # noqa: E402
from bucket_sync.merge import Side  # noqa: E402
from bucket_sync.ranges import Range, split  # noqa: E402

HOSTILE = ["a", "a\x7f", "a\x80", "a\uffff", "a\U0010FFFF", "ab", "b" * 1024, "日本/1", "日本/2", "same!", "same\"",
           "k0999", "k1000", "../x", "", "\U0001F600/\U0001F600", "hot/0000001", "hot/0000002"]


@pytest.mark.parametrize("lo, hi", [(None, None), ("a", None), ("a", "b"), ("hot/0000001", "hot/1"),
                                    ("日本/1", None), ("same!", "same\""), ("k0999", "k1000")])
@pytest.mark.parametrize("parts", [2, 5, 33])
def test_split_points_lie_strictly_inside_the_range_in_order(lo, hi, parts):
    sample = [k for k in HOSTILE if k and (lo is None or k > lo) and (hi is None or k <= hi)] or [lo or "a"]
    points = split_points(lo, hi, parts, sample, span_start=None)
    assert points == sorted(set(points)) and len(points) < parts
    for p in points:
        assert (lo is None or p > lo) and (hi is None or p < hi) and p
        p.encode("utf-8")                                          # a StartAfter S3 accepts (no surrogates)


def listing_of(keys: dict[str, Entry], calls: list):
    """A fake bucket: pages of 3 after StartAfter, in code point order (= S3's UTF-8 binary order)."""
    ordered = sorted(keys)

    def pages(start_after):
        rest = [keys[k] for k in ordered if start_after is None or k > start_after]
        for i in range(0, max(len(rest), 1), 3):
            calls.append(1)
            yield rest[i:i + 3], i + 3 < len(rest)
    return pages


def classify_in_ranges(source: dict, destination: dict, rng_seed: int, budget: int):
    """List the two fake buckets as the planner does: passes that stop between pages (carrying what they
    fetched), ranges cut at random points (some equal to keys), until every range is done."""
    rnd = random.Random(rng_seed)
    calls: list = []
    src, dst = listing_of(source, calls), listing_of(destination, calls)
    ranges, ids, found = [Range.first()], iter(range(1, 10_000)), {"copy": [], "orphan": [], "same": 0}
    while ranges:
        rng = ranges.pop(rnd.randrange(len(ranges)))
        scan = merge(rng.side("source", src(rng.after["source"])),
                     rng.side("destination", dst(rng.after["destination"])), start_after=rng.cursor,
                     stop=lambda p: p.pages_source + p.pages_destination >= budget)
        rng.absorb(scan)
        found["copy"] += [(c.entry.key, c.reason) for c in scan.copies]
        found["orphan"] += [o.key for o in scan.orphans]
        found["same"] += scan.unchanged
        if rng.done:
            continue
        every = sorted({*source, *destination, "m", "\u00ff"})
        inside = [k for k in every if k > (rng.cursor or "") and (rng.hi is None or k < rng.hi)]
        points = sorted(set(rnd.sample(inside, min(len(inside), rnd.randint(0, 3)))))
        ranges += split(rng, points, lambda: next(ids)) if points else [rng]
    return {k: sorted(v) if isinstance(v, list) else v for k, v in found.items()}, len(calls)


@pytest.mark.parametrize("seed", range(8))
def test_ranges_cut_anywhere_classify_every_key_exactly_once(seed):
    rnd = random.Random(seed)
    keys = [*HOSTILE[:-4], *(f"hot/{i:04d}" for i in range(40)), "x", "x\x00", "x\x01"]
    source = {k: e(k, 1, "s") for k in keys if rnd.random() < 0.8}
    destination = {k: e(k, 1, rnd.choice("sd")) for k in keys if rnd.random() < 0.7}
    whole = classify(list(source.values()), list(destination.values()))
    expected = {"copy": sorted((c.entry.key, c.reason) for c in whole.copies),
                "orphan": sorted(o.key for o in whole.orphans), "same": whole.unchanged}
    found, _ = classify_in_ranges(source, destination, seed, budget=rnd.choice([1, 2, 5]))
    assert found == expected


def test_a_split_hands_each_part_the_entries_already_fetched_inside_it():
    rng = Range.first("a")
    rng.carry = {"source": [["b", 1, "x"], ["d", 1, "x"], ["f", 1, "x"]], "destination": [["c", 1, "y"]]}
    rng.after = {"source": "f", "destination": "c"}
    low, high = split(rng, ["d"], lambda: 7)
    assert (low.lo, low.hi, high.lo, high.hi, high.id) == ("a", "d", "d", None, 7)
    assert [e[0] for e in low.carry["source"]] == ["b", "d"] and low.exhausted["source"]      # fetched past d
    assert [e[0] for e in high.carry["source"]] == ["f"] and high.after["source"] == "f"
    assert low.after["destination"] == "c" and not low.exhausted["destination"]
    assert high.after["destination"] == "d" and high.carry["destination"] == []
