"""Split points in S3's key space for ranges whose keys are not known ahead. Pure: no AWS.

S3 lists keys in UTF-8 binary order, which for Python strings is code point order, so a range of keys is two
strings: (lo, hi] (lo exclusive, hi inclusive; None = unbounded), listed with StartAfter=lo until a key > hi.
Any string strictly between the bounds is a valid split point: a poor one costs balance (the planner splits
again next round), never correctness, and never a key (every key is in exactly one range).

How points are guessed from a sample of real keys (the last page listed in the range):
- A bounded range is cut at equal steps of a mixed-radix number: position i of a key is a digit whose
  alphabet is the characters seen at i in the sample, widened to their class (a digit -> 0-9, a lowercase
  letter -> a-z, uppercase -> A-Z), plus "end of key" as the lowest digit. Numeric ids, hex hashes, dates
  and words split about evenly; unicode and punctuation split where they were seen.
- An unbounded range (the last one) is first cut along the ladder of its cursor's prefixes: after the rest of
  the cursor's deepest varying prefix, then after each shorter prefix, then everything else. Each rung is
  about one "digit" of keys bigger than the one before, so one round of listing shows how far the keys reach,
  whatever the bucket's size; the rungs that hold keys are bounded ranges from then on.
"""
from __future__ import annotations

import bisect
from typing import Iterable, Sequence

DEPTH = 40                          # positions a split point is computed to (keys share longer prefixes rarely)
CLASSES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _widen(chars: set[str]) -> list[str]:
    """Digits widen to 0-9 (counters); letters to their case's alphabet once two were seen (one is text)."""
    out = set(chars)
    for cls in CLASSES:
        seen = out & set(cls)
        if seen and (cls[0] == "0" or len(seen) > 1):
            out |= set(cls)
    return sorted(out)


def alphabets(sample: Iterable[str]) -> list[list[str]]:
    """Per position, the (widened) characters seen there; positions past the sample use all seen."""
    seen: list[set[str]] = [set() for _ in range(DEPTH)]
    every: set[str] = set()
    for key in sample:
        for i, ch in enumerate(key[:DEPTH]):
            seen[i].add(ch)
            every.add(ch)
    tail = _widen(every) or ["0"]
    return [(_widen(s) if s else tail) for s in seen]


class Radix:
    """Keys as integers in the mixed radix of `alphabets` (digit 0 ends a key). Monotone: a character outside
    a position's alphabet counts as the largest value under the letter below it, so order is never inverted
    (keys may tie, which only makes a split point coarser)."""

    def __init__(self, alphabet: Sequence[Sequence[str]]):
        self.alphabet = [list(a) for a in alphabet]
        self.bases = [len(a) + 1 for a in self.alphabet]
        self.weights = [1] * len(self.bases)
        for i in range(len(self.bases) - 2, -1, -1):
            self.weights[i] = self.weights[i + 1] * self.bases[i + 1]
        self.top = self.weights[0] * self.bases[0]

    def value(self, key: str | None) -> int:
        if key is None:
            return self.top
        total = 0
        for i, ch in enumerate(key[:len(self.bases)]):
            letters = self.alphabet[i]
            at = bisect.bisect_right(letters, ch)           # letters <= ch
            if at and letters[at - 1] == ch:
                total += at * self.weights[i]
                continue
            return total + at * self.weights[i] + self.weights[i] - 1
        return total

    def key(self, value: int) -> str:
        """The key of alphabet characters with the largest value <= `value`."""
        out = []
        for i, weight in enumerate(self.weights):
            digit, value = divmod(value, weight)
            if digit == 0:
                break
            out.append(self.alphabet[i][digit - 1])
        return "".join(out)


def between(lo: str | None, hi: str | None, point: str) -> bool:
    return (lo is None or point > lo) and (hi is None or point < hi)


def even_points(lo: str | None, hi: str | None, parts: int, sample: Iterable[str]) -> list[str]:
    """Up to parts-1 sorted points strictly inside (lo, hi], at equal steps of the sample's radix."""
    sample = [k for k in sample if k] + [k for k in (lo, hi) if k]
    radix = Radix(alphabets(sample))
    start, end = radix.value(lo or ""), radix.value(hi)
    points: list[str] = []
    for j in range(1, parts):
        point = radix.key(start + (end - start) * j // parts)
        if point and between(lo, hi, point) and (not points or point > points[-1]):
            points.append(point)
    return points


def successor(prefix: str) -> str | None:
    """The smallest string above every key that starts with `prefix` (None if there is none to write)."""
    for i in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[i]) + 1
        if code in range(0xD800, 0xE000):
            code = 0xE000                       # surrogates are not characters: S3 keys never hold them
        if code <= 0x10FFFF:
            return prefix[:i] + chr(code)
    return None


def common_prefix(keys: Sequence[str]) -> str:
    if not keys:
        return ""
    first, last = min(keys), max(keys)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def ladder(cursor: str, sample: Sequence[str], rungs: int) -> list[str]:
    """Points above `cursor` that close the rest of shorter and shorter prefixes of the keys seen (their common
    prefix, ..., its first character): at most `rungs`, spread over the prefix lengths, increasing. Each rung
    holds about a "digit" more keys than the one below, so the last ones find where the keys end."""
    prefix = common_prefix([cursor, *sample])
    if not prefix or rungs < 1:
        return []
    longest = len(prefix)
    lengths = sorted({longest - round(j * (longest - 1) / max(1, rungs - 1)) for j in range(rungs)}, reverse=True)
    points: list[str] = []
    for length in lengths:
        point = successor(prefix[:length])
        if point is not None and point > cursor and (not points or point > points[-1]):
            points.append(point)
    return points


def ahead(cursor: str, span_start: str | None, count: int, sample: Sequence[str]) -> list[str]:
    """Points after `cursor` at 1, 3, 7, ... times the key space the last pass covered (span_start..cursor)."""
    radix = Radix(alphabets([*sample, cursor]))
    here = radix.value(cursor)
    span = here - radix.value(span_start or "")
    points: list[str] = []
    for j in range(1, count + 1):
        point = radix.key(min(radix.top - 1, here + span * (2 ** j - 1)))
        if span > 0 and point > cursor and (not points or point > points[-1]):
            points.append(point)
    return points


def split_points(lo: str | None, hi: str | None, parts: int, sample: Sequence[str],
                 span_start: str | None = None) -> list[str]:
    """Up to parts-1 sorted points strictly inside (lo, hi] to cut a range into `parts`. A bounded range is cut
    evenly; an unbounded one at growing steps past the cursor (about as dense as what was just listed), then
    along the ladder of its prefixes (to find where the keys end)."""
    if parts < 2 or not sample:
        return []
    if hi is not None:
        # Even steps, except that the first cuts follow the ladder below hi: where the keys end inside a wide
        # range is unknown too (a hash-named bucket may hold keys under "0000" only).
        rungs = [p for p in ladder(lo or "", sample, max(1, parts // 4)) if p < hi] if parts >= 4 else []
        start = rungs[-1] if rungs else lo
        points = rungs + even_points(start, hi, parts - len(rungs), sample)
    else:
        cursor = lo or ""
        near = ahead(cursor, span_start, parts // 2, sample)
        far = [p for p in ladder(cursor, sample, parts - 1 - len(near)) if not near or p > near[-1]]
        points = near + far
        if len(points) < parts - 1:                 # still short: cut what lies above evenly
            points += even_points(points[-1] if points else lo, None, parts - len(points), sample)
    return _shortest([p for p in points if between(lo, hi, p)][:parts - 1], lo, hi)


def _shortest(points: list[str], lo: str | None, hi: str | None) -> list[str]:
    """Each point cut to its shortest prefix that still lies strictly between its neighbours."""
    out: list[str] = []
    for i, point in enumerate(points):
        below = out[-1] if out else lo
        above = points[i + 1] if i + 1 < len(points) else hi
        for n in range(1, len(point) + 1):
            if between(below, above, point[:n]):
                point = point[:n]
                break
        out.append(point)
    return out
