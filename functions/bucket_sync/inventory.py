"""`sourceInventory`: the source's keys from an S3 Inventory report (CSV or Parquet) instead of its listing.

- Validate reads the manifest.json: it must be an inventory of the sync's source bucket, stored in an allowed
  bucket, in CSV or Parquet, with the Key, Size and ETag fields (ORC and reports without ETags are refused).
- IndexInventory (a Distributed Map over the manifest's data files) gives each file to one `index` child,
  which reads it (CSV.gz with the standard library; Parquet with pyarrow, from the AWS SDK for pandas layer),
  keeps the current versions under the source prefix (CSV keys are URL-encoded: decoded), sorts them and
  writes them to the state bucket as chunks of CHUNK entries with an index of each chunk's first key. Step
  Functions' own inventory reader (ItemReader MANIFEST) hands rows to children in arbitrary batches; the merge
  needs them in key order per range, which one child per file can give for N/CHUNK PUTs (10x fewer requests
  than listing).
- The ranges are then cut at quantiles of the index (the planner knows where the keys are) and each range
  merges the index's entries with the destination's listing, as with a listed source.

Objects written to the source after the inventory was taken: one that the destination lacks is not seen by
this run (the next run, listed or with a newer inventory, copies it); one that the destination has is not in
the inventory, so it looks like an orphan: every such candidate is checked with one HeadObject on the source
and kept if the source has it. Objects changed or deleted at the source since the inventory are not copied
(the copy is conditional on the inventory's ETag) and are counted as `staleSinceInventory`, not as failures.
"""
from __future__ import annotations

import csv
import gzip
import heapq
import io
import json
import re
from bisect import bisect_right
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable, Iterator
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from common.errors import error_code
from common.handler import lambda_handler

from .merge import Entry
from .model import Inventory, InvalidSyncInput, SyncRequest, clean_etag
from .s3 import get_manifest, put_manifest, s3

CHUNK = 10_000                  # entries per index chunk (one PUT when indexing, one GET when merging)
PAGE = 1000                     # entries per page handed to the merge (as a listing page)
FIELDS = {"CSV": ("Key", "Size", "ETag", "IsLatest", "IsDeleteMarker"),
          "Parquet": ("key", "size", "e_tag", "is_latest", "is_delete_marker")}
HEAD_THREADS = 16
MIN_KEYS_A_RANGE = 4000         # a range that a pass of a few pages lists whole is not worth a split


class InvalidInventory(InvalidSyncInput):
    """sourceInventory is not an S3 Inventory report this sync can use; the message says why."""


def index_prefix(run: str) -> str:
    return f"runs/{run}/inventory/"


def _schema(manifest: dict) -> list[str]:
    schema = str(manifest.get("fileSchema", ""))
    if manifest.get("fileFormat") == "Parquet":
        return re.findall(r"(?:required|optional|repeated)\s+\w+\s+(\w+)", schema)
    return [name.strip() for name in schema.split(",")]


def read_manifest(request: SyncRequest) -> tuple[Inventory, dict]:
    """The manifest, checked against the request; raises InvalidInventory naming what is wrong."""
    inventory = request.inventory
    assert inventory is not None
    try:
        body = s3().get_object(Bucket=inventory.bucket, Key=inventory.key)["Body"].read()
    except ClientError as exc:
        code = error_code(exc)
        if code in ("NoSuchKey", "404"):
            raise InvalidInventory(f"sourceInventory {inventory.url} does not exist") from exc
        if code in ("NoSuchBucket",):
            raise InvalidInventory(f"sourceInventory bucket {inventory.bucket!r} does not exist") from exc
        raise
    try:
        manifest = json.loads(body)
    except ValueError:
        raise InvalidInventory(f"sourceInventory {inventory.url} is not JSON (an S3 Inventory manifest.json)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise InvalidInventory(f"sourceInventory {inventory.url} is not an S3 Inventory manifest (no files)")
    if manifest.get("sourceBucket") != request.source.bucket:
        raise InvalidInventory(f"sourceInventory {inventory.url} lists bucket {manifest.get('sourceBucket')!r}, "
                               f"not the source {request.source.bucket!r}")
    fmt = manifest.get("fileFormat")
    if fmt not in FIELDS:
        raise InvalidInventory(f"sourceInventory {inventory.url} is in {fmt!r} format; CSV and Parquet are supported")
    missing = [f for f in FIELDS[fmt][:3] if f not in _schema(manifest)]
    if missing:
        raise InvalidInventory(f"sourceInventory {inventory.url} lacks the field(s) {', '.join(missing)} "
                               "(configure the inventory with Size and ETag)")
    home = str(manifest.get("destinationBucket", "")).removeprefix("arn:aws:s3:::")
    if home != inventory.bucket:
        raise InvalidInventory(f"sourceInventory {inventory.url}: its data files are in {home!r}, not in the "
                               f"manifest's bucket {inventory.bucket!r}")
    for f in manifest["files"]:
        if not isinstance(f, dict) or not isinstance(f.get("key"), str):
            raise InvalidInventory(f"sourceInventory {inventory.url}: a files entry has no key")
    taken = str(manifest.get("creationTimestamp", "")) or None
    return replace(inventory, format=fmt, taken=taken), manifest


def write_file_list(request: SyncRequest) -> str:
    """The data files: one object each under files/ (the IndexInventory Map lists them) and all in files.json."""
    _, manifest = read_manifest(request)
    files = [{"key": f["key"], "n": n} for n, f in enumerate(manifest["files"])]
    for f in files:
        put_manifest(f"{request.inventory.index}files/{f['n']:05d}.json", f)
    key = f"{request.inventory.index}files.json"
    put_manifest(key, files)
    return key


def _csv_rows(body: bytes, schema: list[str]) -> Iterator[dict]:
    text = io.TextIOWrapper(gzip.GzipFile(fileobj=io.BytesIO(body)) if body[:2] == b"\x1f\x8b"
                            else io.BytesIO(body), encoding="utf-8", newline="")
    for row in csv.reader(text):
        yield {name: (row[i] if i < len(row) else "") for i, name in enumerate(schema)}


def _parquet_rows(body: bytes) -> Iterator[dict]:
    import pyarrow.parquet as pq            # the AWS SDK for pandas layer in AWS; a dev requirement locally
    table = pq.read_table(io.BytesIO(body), columns=None)
    names = set(table.column_names)
    wanted = [c for c in FIELDS["Parquet"] if c in names]
    for batch in table.select(wanted).to_batches():
        yield from batch.to_pylist()


def entries_of(fmt: str, body: bytes, schema: list[str], prefix: str) -> list[Entry]:
    """The current objects under `prefix` in one data file, relative to it, sorted as S3 lists them."""
    key_f, size_f, etag_f, latest_f, marker_f = FIELDS[fmt]
    rows = _csv_rows(body, schema) if fmt == "CSV" else _parquet_rows(body)
    out = []
    for row in rows:
        key = row.get(key_f)
        if not isinstance(key, str):
            continue
        if fmt == "CSV":
            key = unquote_plus(key)
        if str(row.get(latest_f, "true")).lower() == "false" or str(row.get(marker_f, "false")).lower() == "true":
            continue
        if not key.startswith(prefix) or key == prefix:
            continue
        out.append(Entry(key[len(prefix):], int(row.get(size_f) or 0), clean_etag(str(row.get(etag_f) or ""))))
    out.sort(key=lambda e: e.key)
    return out


def index_file(request: SyncRequest, file_key: str, n: int) -> dict:
    """One data file -> sorted chunks + their first keys, in the state bucket."""
    prefix = request.inventory.index
    inventory, manifest = read_manifest(request)
    body = s3().get_object(Bucket=inventory.bucket, Key=file_key)["Body"].read()
    entries = entries_of(inventory.format or "CSV", body, _schema(manifest), request.source.prefix)
    firsts = []
    for c, start in enumerate(range(0, len(entries), CHUNK)):
        chunk = entries[start:start + CHUNK]
        firsts.append(chunk[0].key)
        put_manifest(f"{prefix}{n:05d}/{c:06d}.json", [[e.key, e.size, e.etag] for e in chunk])
    put_manifest(f"{prefix}{n:05d}/index.json", {"firsts": firsts, "count": len(entries)})
    return {"file": n, "kept": len(entries)}


@lru_cache(maxsize=4)
def _indexes(prefix: str) -> tuple[tuple[int, tuple[str, ...], int], ...]:
    """Per data file: its number, its chunks' first keys, its entry count (read once an invocation)."""
    out = []
    for f in get_manifest(f"{prefix}files.json"):
        index = get_manifest(f"{prefix}{f['n']:05d}/index.json")
        out.append((f["n"], tuple(index["firsts"]), index["count"]))
    return tuple(out)


def _file_entries(prefix: str, n: int, firsts: tuple[str, ...], start_after: str | None) -> Iterator[Entry]:
    c = max(0, bisect_right(firsts, start_after) - 1) if start_after is not None else 0
    for chunk in range(c, len(firsts)):
        for entry in get_manifest(f"{prefix}{n:05d}/{chunk:06d}.json"):
            if start_after is None or entry[0] > start_after:
                yield Entry(*entry)


def index_pages(request: SyncRequest, start_after: str | None) -> Iterator[tuple[list[Entry], bool]]:
    """The indexed source entries after `start_after`, in pages of PAGE, chunks read only as the merge needs."""
    prefix = request.inventory.index
    streams = [_file_entries(prefix, n, firsts, start_after) for n, firsts, _ in _indexes(prefix)]
    merged = heapq.merge(*streams, key=lambda e: e.key)
    page: list[Entry] = []
    last = None
    for entry in merged:
        if entry.key == last:
            continue                            # the same key in two files (a report written twice): once
        last = entry.key
        page.append(entry)
        if len(page) == PAGE:
            yield page, True
            page = []
    yield page, False


def first_ranges(request: SyncRequest, parallelism: int, allowance: float, rate: float) -> list:
    """Ranges cut at quantiles of the index: each about as many source keys; as many as the splits' cost
    allows (one extra destination LIST each, against ~count/1000)."""
    from .ranges import Range
    indexes = _indexes(request.inventory.index)
    count = sum(total for _, _, total in indexes)
    firsts = sorted(k for _, f, _ in indexes for k in f)
    wanted = max(1, min(parallelism, int(allowance + rate * count / PAGE) // 2, count // MIN_KEYS_A_RANGE, len(firsts)))
    points = sorted({firsts[len(firsts) * i // wanted] for i in range(1, wanted)})
    bounds = [None, *points, None]
    return [Range(id=i, lo=bounds[i], hi=bounds[i + 1], cursor=bounds[i],
                  after={"source": bounds[i], "destination": bounds[i]}) for i in range(len(bounds) - 1)]


def confirm_orphans(request: SyncRequest) -> Callable[[list[Entry]], list[Entry]] | None:
    """With an inventory, a destination key it does not list may be a source object newer than the report:
    keep it unless one HeadObject says the source does not have it."""
    if request.inventory is None:
        return None

    def gone(entry: Entry) -> bool:
        try:
            s3(request.source.region).head_object(Bucket=request.source.bucket, Key=request.source.key(entry.key))
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return True
            raise
        return False

    def confirm(candidates: list[Entry]) -> list[Entry]:
        if not candidates:
            return candidates
        with ThreadPoolExecutor(HEAD_THREADS) as pool:
            verdicts = list(pool.map(gone, candidates))
        return [e for e, is_gone in zip(candidates, verdicts) if is_gone]

    return confirm


@lambda_handler
def handler(event: dict, context: object) -> dict:
    """An IndexInventory child: one inventory data file (named by its object under files/)."""
    request = SyncRequest.from_json(event["request"])
    described = get_manifest(event["file"])
    return index_file(request, described["key"], int(described["n"]))
