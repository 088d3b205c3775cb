"""A sync request (where from, where to, what to do) and the validation every run starts with. Pure: no AWS."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable

from common.errors import InvalidInput, OpsflowsError

BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1024
INPUT_KEYS = {"source", "destination", "prefix", "dryRun", "deleteOrphans", "maxDeletes", "sourceInventory"}
MAX_INPUT_STRING = 2048          # characters in any one input string (a key is at most 1,024 bytes)


class InvalidSyncInput(InvalidInput):
    """The execution input is not a sync this workflow can run (unknown key, bad type, bad bucket name)."""


class BucketNotAllowed(InvalidSyncInput):
    """A bucket is not in opsflows:bucketSync.allowedBuckets."""


class OverlappingLocations(InvalidSyncInput):
    """Source and destination are the same place, or one contains the other (same bucket, nested prefixes)."""


class BucketNotFound(OpsflowsError):
    """A bucket does not exist."""


class BucketNotReachable(OpsflowsError):
    """A bucket exists but this workflow may not list it (403), or it answered with another error."""


@dataclass(frozen=True)
class Location:
    """A bucket and a key prefix in it ('' = the whole bucket); `region` once known."""

    bucket: str
    prefix: str = ""
    region: str | None = None

    def key(self, relative: str) -> str:
        return self.prefix + relative

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def contains(self, other: "Location") -> bool:
        return self.bucket == other.bucket and other.prefix.startswith(self.prefix)

    def to_json(self) -> dict:
        return {"bucket": self.bucket, "prefix": self.prefix, "region": self.region}

    @classmethod
    def from_json(cls, data: dict) -> "Location":
        return cls(bucket=data["bucket"], prefix=data.get("prefix", ""), region=data.get("region"))


@dataclass(frozen=True)
class Inventory:
    """An S3 Inventory report of the source (`sourceInventory`): its manifest.json, and once read, its format,
    the source bucket it lists, when it was taken and its data files."""

    bucket: str
    key: str
    format: str | None = None           # CSV | Parquet
    taken: str | None = None            # the manifest's creationTimestamp (epoch milliseconds)
    index: str | None = None            # where this run keeps the sorted index of it (state bucket prefix)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def to_json(self) -> dict:
        return {"bucket": self.bucket, "key": self.key, "format": self.format, "taken": self.taken,
                "index": self.index}

    @classmethod
    def from_json(cls, data: dict | None) -> "Inventory | None":
        return cls(**data) if data else None


@dataclass(frozen=True)
class SyncRequest:
    source: Location
    destination: Location
    dry_run: bool = False
    delete_orphans: bool = True
    max_deletes: int | None = None
    inventory: Inventory | None = None

    def to_json(self) -> dict:
        return {"source": self.source.to_json(), "destination": self.destination.to_json(), "dryRun": self.dry_run,
                "deleteOrphans": self.delete_orphans, "maxDeletes": self.max_deletes,
                "inventory": self.inventory.to_json() if self.inventory else None}

    @classmethod
    def from_json(cls, data: dict) -> "SyncRequest":
        return cls(source=Location.from_json(data["source"]), destination=Location.from_json(data["destination"]),
                   dry_run=data["dryRun"], delete_orphans=data["deleteOrphans"], max_deletes=data.get("maxDeletes"),
                   inventory=Inventory.from_json(data.get("inventory")))

    def with_regions(self, source_region: str, destination_region: str) -> "SyncRequest":
        return replace(self, source=replace(self.source, region=source_region),
                       destination=replace(self.destination, region=destination_region))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_location(value: Any, field: str, prefix: str) -> Location:
    """`bucket`, `bucket/key/prefix` or `s3://bucket/key/prefix`; the common `prefix` is appended."""
    if not isinstance(value, str) or not value:
        raise InvalidSyncInput(f"{field} must be a bucket name (optionally bucket/prefix), got {_shown(value)}")
    if len(value) > MAX_INPUT_STRING:
        raise InvalidSyncInput(f"{field} is {len(value)} characters long; a bucket and key prefix fit in "
                               f"{MAX_INPUT_STRING}")
    if value.startswith("arn:"):
        raise InvalidSyncInput(f"{field} must be a bucket name (optionally bucket/prefix), not an ARN: "
                               f"{_shown(value)}")
    text = value[len("s3://"):] if value.startswith("s3://") else value
    bucket, _, own_prefix = text.partition("/")
    if not BUCKET.match(bucket) or ".." in bucket:
        raise InvalidSyncInput(f"{field}: {_shown(bucket)} is not a valid S3 bucket name")
    full = own_prefix + prefix
    _check_prefix(full, field)
    return Location(bucket, full)


def is_allowed(bucket: str, allowed_buckets: Iterable[str]) -> bool:
    """Named exactly in allowedBuckets, or starting with the prefix of an entry that ends in `*` (IAM scopes the
    functions to arn:aws:s3:::<prefix>* the same way)."""
    return any(bucket == entry or (entry.endswith("*") and bucket.startswith(entry[:-1])) for entry in allowed_buckets)


DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_prefix(full: str, field: str) -> None:
    """S3 keys are any UTF-8, but a prefix with `.`/`..` segments or control characters is a filesystem path or
    a paste gone wrong (S3 resolves neither): refused, saying which."""
    try:
        size = len(full.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidSyncInput(f"{field}: the key prefix {_shown(full)} is not valid UTF-8 (a lone surrogate)") from None
    if DOT_SEGMENT.search(full):
        raise InvalidSyncInput(f"{field}: the key prefix {_shown(full)} has a '.' or '..' segment; S3 does not "
                               "resolve them (write the prefix as the keys spell it)")
    if CONTROL.search(full):
        raise InvalidSyncInput(f"{field}: the key prefix {_shown(full)} holds a control character")
    if size >= MAX_KEY_BYTES:
        raise InvalidSyncInput(f"{field}: the key prefix {_shown(full)} leaves no room for keys (S3 keys are <= "
                               "1024 bytes)")


def parse_inventory(value: Any) -> Inventory | None:
    """`s3://bucket/path/manifest.json` of an S3 Inventory report (None when not given)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("s3://") or len(value) > MAX_INPUT_STRING:
        raise InvalidSyncInput(f"sourceInventory must be the s3:// URI of an S3 Inventory manifest.json, got "
                               f"{_shown(value)}")
    bucket, _, key = value[len("s3://"):].partition("/")
    if not BUCKET.match(bucket) or not key.endswith("manifest.json"):
        raise InvalidSyncInput(f"sourceInventory must be s3://<bucket>/<path>/manifest.json (an S3 Inventory "
                               f"manifest), got {_shown(value)}")
    _check_prefix(key, "sourceInventory")
    return Inventory(bucket, key)


def parse_request(event: Any, allowed_buckets: set[str]) -> SyncRequest:
    """Validate an execution input into a SyncRequest (no AWS calls), or raise an error naming the problem."""
    if not isinstance(event, dict):
        raise InvalidSyncInput(f"the input must be a JSON object, got {type(event).__name__}")
    unknown = sorted(set(event) - INPUT_KEYS)
    if unknown:
        raise InvalidSyncInput(f"unknown input key(s) {', '.join(unknown)}; known keys are "
                               + ", ".join(sorted(INPUT_KEYS)))
    prefix = event.get("prefix", "")
    if not isinstance(prefix, str):
        raise InvalidSyncInput(f"prefix must be a string, got {_shown(prefix)}")
    flags = {}
    for name, default in (("dryRun", False), ("deleteOrphans", True)):
        flags[name] = event.get(name, default)
        if not isinstance(flags[name], bool):
            raise InvalidSyncInput(f"{name} must be true or false, got {flags[name]!r}")
    max_deletes = event.get("maxDeletes")
    if max_deletes is not None and (not isinstance(max_deletes, int) or isinstance(max_deletes, bool)
                                    or max_deletes < 0):
        raise InvalidSyncInput(f"maxDeletes must be an integer >= 0, got {max_deletes!r}")

    source = parse_location(event.get("source"), "source", prefix)
    destination = parse_location(event.get("destination"), "destination", prefix)
    inventory = parse_inventory(event.get("sourceInventory"))
    for field, location in (("source", source), ("destination", destination)):
        if not is_allowed(location.bucket, allowed_buckets):
            raise BucketNotAllowed(f"{field} bucket {location.bucket!r} is not in opsflows:bucketSync.allowedBuckets")
    if source.contains(destination) or destination.contains(source):
        what = "the same location" if source == destination else "overlapping locations"
        raise OverlappingLocations(f"source {source.url} and destination {destination.url} are {what}; "
                                   "a sync within one bucket needs prefixes that do not contain each other")
    if inventory is not None:
        if not is_allowed(inventory.bucket, allowed_buckets):
            raise BucketNotAllowed(f"sourceInventory bucket {inventory.bucket!r} is not in "
                                   "opsflows:bucketSync.allowedBuckets")
        if inventory.bucket == destination.bucket and inventory.key.startswith(destination.prefix):
            raise OverlappingLocations(f"sourceInventory {inventory.url} lies inside the destination "
                                       f"{destination.url}, which the sync may delete from")
    return SyncRequest(source, destination, flags["dryRun"], flags["deleteOrphans"], max_deletes, inventory)


def is_multipart_etag(etag: str) -> bool:
    """S3 ETags of multipart uploads end in -<part count>; single-part ETags are a plain MD5 (unless SSE-KMS)."""
    return "-" in etag


def parts_in(etag: str) -> int | None:
    tail = etag.rpartition("-")[2]
    return int(tail) if is_multipart_etag(etag) and tail.isdigit() else None


def clean_etag(etag: str) -> str:
    return etag.strip('"')
