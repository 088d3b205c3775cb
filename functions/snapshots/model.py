"""EBS Snapshot Notification events and the tags opsflows manages snapshots by."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from common.errors import InvalidInput

MANAGED = "opsflows:managed"              # "true" on every snapshot opsflows manages (and may delete)
PENDING = "pending"                       # MANAGED on a fresh DR copy until the DR workflow tags it
VOLUME = "opsflows:volume"                # the original volume id; copies carry it, so DR groups by it
DR_COPY = "opsflows:dr"                   # primary: "pending" until its DR copy completed, then "copied"
COPIED = "copied"
SOURCE_SNAPSHOT = "opsflows:source-snapshot"
SOURCE_REGION = "opsflows:source-region"
SOURCE_TIME = "opsflows:source-time"      # on a DR copy: its source's start time (DR keeps the newest sources)
# Snapshots that another manager owns (AWS Backup, Data Lifecycle Manager) are left to it.
FOREIGN_MANAGERS = ("aws:backup:", "aws:dlm:")

MAX_EVENT_BYTES = 64 * 1024               # an EBS Snapshot Notification is well under 2 KiB
SNAPSHOT_ID = re.compile(r"^snap-[0-9a-f]{8,17}$")
VOLUME_ID = re.compile(r"^vol-[0-9a-f]{8,17}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
# EBS events write snapshot ARNs as arn:aws:ec2::<region>:snapshot/<id> (region in the account field);
# the regular form arn:aws:ec2:<region>:<account>:snapshot/<id> is accepted too.
ARN = re.compile(r"^arn:aws[a-z-]*:ec2:(?P<a>[a-z0-9-]*):(?P<b>[a-z0-9-]*):(?P<kind>snapshot|volume)/(?P<id>[a-z0-9-]+)$")


class NotASnapshotEvent(InvalidInput):
    """The event is not an EBS Snapshot Notification this workflow can act on."""


class InvalidSnapshotArn(InvalidInput):
    """The event's snapshot_id (or source) is not an EC2 snapshot ARN."""


@dataclass(frozen=True)
class SnapshotRef:
    id: str
    region: str

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2:{self.region}::snapshot/{self.id}"

    def to_json(self) -> dict:
        return {"id": self.id, "region": self.region}


def parse_arn(value: Any, kind: str, field: str) -> tuple[str, str | None]:
    """(resource id, region or None) from an EC2 ARN in an EBS event."""
    match = ARN.match(value) if isinstance(value, str) else None
    if not match or match["kind"] != kind or not (SNAPSHOT_ID if kind == "snapshot" else VOLUME_ID).match(match["id"]):
        shown = value if not isinstance(value, str) or len(value) <= 120 else f"{value[:100]}... ({len(value)} characters)"
        raise InvalidSnapshotArn(f"detail.{field} must be an EC2 {kind} ARN, got {shown!r}")
    region = next((part for part in (match["a"], match["b"]) if REGION.match(part)), None)
    return match["id"], region


@dataclass(frozen=True)
class SnapshotEvent:
    event: str                  # createSnapshot | copySnapshot
    snapshot: SnapshotRef
    source: str                 # volume id (createSnapshot) or source snapshot ARN (copySnapshot)
    source_region: str | None
    result: str = "succeeded"   # copySnapshot: succeeded | failed (the settle step reads both)
    cause: str = ""

    @classmethod
    def parse(cls, event: Any, expected: str, results: tuple[str, ...] = ("succeeded",)) -> "SnapshotEvent":
        size = len(json.dumps(event, default=str))
        if size > MAX_EVENT_BYTES:
            raise NotASnapshotEvent(f"the event is {size:,} bytes; an EBS Snapshot Notification is under 2 KiB "
                                    f"(at most {MAX_EVENT_BYTES:,} bytes are read)")
        if not isinstance(event, dict) or event.get("detail-type") != "EBS Snapshot Notification":
            raise NotASnapshotEvent(f"expected an EBS Snapshot Notification, got detail-type "
                                    f"{event.get('detail-type') if isinstance(event, dict) else type(event).__name__!r}")
        detail = event.get("detail")
        if not isinstance(detail, dict):
            raise NotASnapshotEvent("the event has no detail object")
        if detail.get("event") != expected:
            raise NotASnapshotEvent(f"expected detail.event {expected!r}, got {detail.get('event')!r}")
        if detail.get("result") not in results:
            if results == ("succeeded",):
                raise NotASnapshotEvent(f"the {expected} did not succeed (result {detail.get('result')!r}, "
                                        f"cause {detail.get('cause')!r})")
            raise NotASnapshotEvent(f"detail.result must be one of {', '.join(results)}, got {detail.get('result')!r}")
        snapshot_id, region = parse_arn(detail.get("snapshot_id"), "snapshot", "snapshot_id")
        region = region or event.get("region")
        if not region or not REGION.match(region):
            raise NotASnapshotEvent(f"cannot tell the snapshot's region from the event (region {region!r})")
        if expected == "createSnapshot":
            source, source_region = parse_arn(detail.get("source"), "volume", "source")
        else:
            source_id, source_region = parse_arn(detail.get("source"), "snapshot", "source")
            source = source_id
        cause = detail.get("cause") or ""
        return cls(event=expected, snapshot=SnapshotRef(snapshot_id, region), source=source,
                   source_region=source_region, result=detail["result"], cause=cause if isinstance(cause, str) else "")


def source_ref(value: Any, field: str = "snapshot") -> SnapshotRef:
    """A {"id", "region"} object of an execution input as a SnapshotRef, or InvalidInput naming the field."""
    if not isinstance(value, dict) or not SNAPSHOT_ID.match(str(value.get("id") or "")) \
            or not REGION.match(str(value.get("region") or "")):
        raise InvalidInput(f"{field} must be {{\"id\": \"snap-...\", \"region\": \"<region>\"}}, got {value!r}")
    return SnapshotRef(value["id"], value["region"])


def tags_of(described: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in described.get("Tags", [])}


def foreign_manager(tags: dict[str, str]) -> str | None:
    """The other manager's tag if AWS Backup or DLM owns this snapshot."""
    return next((k for k in tags if k.startswith(FOREIGN_MANAGERS)), None)
