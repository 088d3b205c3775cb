"""Copy a managed snapshot to the DR region: encrypted, tags carried, once per source snapshot."""
from __future__ import annotations

import os

from botocore.exceptions import ClientError

from common.errors import InvalidInput, error_code
from common.handler import lambda_handler
from common.aws import paginate

from .ec2 import SnapshotNotFound, describe, ec2
from .model import MANAGED, PENDING, REGION, SOURCE_REGION, SOURCE_SNAPSHOT, VOLUME, SnapshotRef, tags_of


class CopyError(InvalidInput):
    """The copy cannot be attempted (no DR region, DR region equals the source region)."""


def existing_copy(source: SnapshotRef, dr_region: str) -> dict | None:
    """A copy of `source` already in the DR region (made by an earlier run), if any."""
    for found in paginate(ec2(dr_region), "describe_snapshots", "Snapshots", OwnerIds=["self"], Filters=[
            {"Name": f"tag:{SOURCE_SNAPSHOT}", "Values": [source.id]},
            {"Name": f"tag:{SOURCE_REGION}", "Values": [source.region]}]):
        return found
    return None


def copy_to_dr(source: SnapshotRef, volume_id: str, dr_region: str, kms_key_id: str | None,
               tags: dict[str, str] | None = None) -> dict:
    """Copy `source` to `dr_region` (or find the copy an earlier run made). `tags` are the source's own tags
    as the Tag step read them; without them the source is described again."""
    if not dr_region or not REGION.match(dr_region):
        raise CopyError(f"DR_REGION must be a region name, got {dr_region!r}")
    if dr_region == source.region:
        raise CopyError(f"the DR region must differ from the snapshot's region ({source.region})")
    found = existing_copy(source, dr_region)
    if found:
        return {"copy": {"id": found["SnapshotId"], "region": dr_region}, "reused": True}

    if tags is None:
        try:
            tags = tags_of(describe(source))
        except SnapshotNotFound:
            return _gone(source)
    carried = {k: v for k, v in tags.items() if not k.startswith(("aws:", "opsflows:"))}
    # "pending" until the DR workflow's own Tag step: retention never deletes a copy its workflow has not seen.
    carried.update({MANAGED: PENDING, VOLUME: volume_id, SOURCE_SNAPSHOT: source.id, SOURCE_REGION: source.region})
    params = {"SourceRegion": source.region, "SourceSnapshotId": source.id, "Encrypted": True,
              "Description": f"opsflows DR copy of {source.id} ({source.region}, volume {volume_id})"[:255],
              "TagSpecifications": [{"ResourceType": "snapshot",
                                     "Tags": [{"Key": k, "Value": v} for k, v in sorted(carried.items())]}]}
    if kms_key_id:
        params["KmsKeyId"] = kms_key_id
    try:
        made = ec2(dr_region).copy_snapshot(**params)
    except ClientError as exc:
        if error_code(exc) == "InvalidSnapshot.NotFound":
            return _gone(source)
        raise
    return {"copy": {"id": made["SnapshotId"], "region": dr_region}, "reused": False}


def _gone(source: SnapshotRef) -> dict:
    # Deleted between its event and this step: by retention (a newer snapshot of the volume ran first) or by
    # hand. A snapshot that no longer exists has nothing left to protect; say so instead of failing.
    return {"copy": None, "reused": False, "skipped": f"{source.id} no longer exists in {source.region}"}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    snapshot = event.get("snapshot") or {}
    if not snapshot.get("id") or not snapshot.get("region"):
        raise CopyError(f"input must carry snapshot.id and snapshot.region, got {snapshot!r}")
    return copy_to_dr(SnapshotRef(snapshot["id"], snapshot["region"]), event.get("volumeId"),
                      os.environ.get("DR_REGION", ""), os.environ.get("KMS_KEY_ID") or None, event.get("tags"))
