"""A sync request (where from, where to, what to do) and the validation every run starts with. Pure: no AWS."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from common.errors import InvalidInput, OpsflowsError

BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1024
INPUT_KEYS = {"source", "destination", "prefix", "dryRun", "deleteOrphans", "maxDeletes"}


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
class SyncRequest:
    source: Location
    destination: Location
    dry_run: bool = False
    delete_orphans: bool = True
    max_deletes: int | None = None

    def to_json(self) -> dict:
        return {"source": self.source.to_json(), "destination": self.destination.to_json(), "dryRun": self.dry_run,
                "deleteOrphans": self.delete_orphans, "maxDeletes": self.max_deletes}

    @classmethod
    def from_json(cls, data: dict) -> "SyncRequest":
        return cls(source=Location.from_json(data["source"]), destination=Location.from_json(data["destination"]),
                   dry_run=data["dryRun"], delete_orphans=data["deleteOrphans"], max_deletes=data.get("maxDeletes"))

    def with_regions(self, source_region: str, destination_region: str) -> "SyncRequest":
        return SyncRequest(Location(self.source.bucket, self.source.prefix, source_region),
                           Location(self.destination.bucket, self.destination.prefix, destination_region),
                           self.dry_run, self.delete_orphans, self.max_deletes)


def parse_location(value: Any, field: str, prefix: str) -> Location:
    """`bucket`, `bucket/key/prefix` or `s3://bucket/key/prefix`; the common `prefix` is appended."""
    if not isinstance(value, str) or not value:
        raise InvalidSyncInput(f"{field} must be a bucket name (optionally bucket/prefix), got {value!r}")
    text = value[len("s3://"):] if value.startswith("s3://") else value
    bucket, _, own_prefix = text.partition("/")
    if not BUCKET.match(bucket):
        raise InvalidSyncInput(f"{field}: {bucket!r} is not a valid S3 bucket name")
    full = own_prefix + prefix
    if len(full.encode("utf-8")) >= MAX_KEY_BYTES:
        raise InvalidSyncInput(f"{field}: the key prefix {full!r} leaves no room for keys (S3 keys are <= 1024 bytes)")
    return Location(bucket, full)


def is_allowed(bucket: str, allowed_buckets: Iterable[str]) -> bool:
    """Named exactly in allowedBuckets, or starting with the prefix of an entry that ends in `*` (IAM scopes the
    functions to arn:aws:s3:::<prefix>* the same way)."""
    return any(bucket == entry or (entry.endswith("*") and bucket.startswith(entry[:-1])) for entry in allowed_buckets)


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
        raise InvalidSyncInput(f"prefix must be a string, got {prefix!r}")
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
    for field, location in (("source", source), ("destination", destination)):
        if not is_allowed(location.bucket, allowed_buckets):
            raise BucketNotAllowed(f"{field} bucket {location.bucket!r} is not in opsflows:bucketSync.allowedBuckets")
    if source.contains(destination) or destination.contains(source):
        what = "the same location" if source == destination else "overlapping locations"
        raise OverlappingLocations(f"source {source.url} and destination {destination.url} are {what}; "
                                   "a sync within one bucket needs prefixes that do not contain each other")
    return SyncRequest(source, destination, flags["dryRun"], flags["deleteOrphans"], max_deletes)


def is_multipart_etag(etag: str) -> bool:
    """S3 ETags of multipart uploads end in -<part count>; single-part ETags are a plain MD5 (unless SSE-KMS)."""
    return "-" in etag


def parts_in(etag: str) -> int | None:
    tail = etag.rpartition("-")[2]
    return int(tail) if is_multipart_etag(etag) and tail.isdigit() else None


def clean_etag(etag: str) -> str:
    return etag.strip('"')
