"""The EC2 calls snapshot management makes, each in the snapshot's own region."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from common.aws import client, paginate
from common.errors import OpsflowsError, error_code

from .model import MANAGED, SOURCE_TIME, VOLUME, SnapshotRef, tags_of


class SnapshotNotFound(OpsflowsError):
    """The snapshot named by the event does not exist (deleted, or another account's)."""


PAGE = 1000      # DescribeSnapshots page size (the API's maximum when filtering)


def ec2(region: str) -> Any:
    return client("ec2", region)


def describe(snapshot: SnapshotRef) -> dict:
    try:
        found = ec2(snapshot.region).describe_snapshots(SnapshotIds=[snapshot.id])["Snapshots"]
    except ClientError as exc:
        if error_code(exc) in ("InvalidSnapshot.NotFound", "InvalidSnapshotID.Malformed"):
            raise SnapshotNotFound(f"snapshot {snapshot.id} not found in {snapshot.region}") from exc
        raise
    if not found:
        raise SnapshotNotFound(f"snapshot {snapshot.id} not found in {snapshot.region}")
    return found[0]


def managed_snapshots_of(volume_id: str, region: str) -> list[dict]:
    """Every snapshot this account owns in `region` that opsflows manages for `volume_id` (all pages)."""
    return list(paginate(ec2(region), "describe_snapshots", "Snapshots", OwnerIds=["self"], MaxResults=PAGE, Filters=[
        {"Name": f"tag:{VOLUME}", "Values": [volume_id]},
        {"Name": f"tag:{MANAGED}", "Values": ["true"]},
    ]))


def start_time(described: dict) -> datetime:
    value = described["StartTime"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def point_in_time(described: dict) -> datetime:
    """The moment a snapshot holds the volume at: a DR copy's source's start time (copies start and complete in
    any order: a retried copy of an old snapshot may finish last), else its own start time."""
    source_time = tags_of(described).get(SOURCE_TIME)
    if source_time:
        try:
            return datetime.fromisoformat(source_time.replace("Z", "+00:00"))
        except ValueError:
            pass
    return start_time(described)
