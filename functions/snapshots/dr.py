"""The DR region's side of a copy: start one, count the copies in flight (the quota's source of truth), remove
a copy AWS failed."""
from __future__ import annotations

from botocore.exceptions import ClientError

from common.aws import paginate
from common.errors import error_code

from .ec2 import ec2
from .model import MANAGED, PENDING, SOURCE_REGION, SOURCE_SNAPSHOT, SOURCE_TIME, VOLUME, SnapshotRef

# EBS answers these when the Region already has its 20 copies in flight (the quota is not adjustable).
QUOTA_ERRORS = ("ResourceLimitExceeded", "SnapshotCopyLimitExceeded")
# Worth trying again later (the SDK already retried them): throttling and AWS-side errors.
TRANSIENT_ERRORS = ("RequestLimitExceeded", "Throttling", "ThrottlingException", "InternalError", "InternalFailure",
                    "ServiceUnavailable", "Unavailable")


def copies_in_flight(dr_region: str) -> int:
    """Copies opsflows made that are still pending in the DR region (others' copies are not seen here: a
    region they fill answers ResourceLimitExceeded, and their completion events release the queue too)."""
    return sum(1 for _ in paginate(ec2(dr_region), "describe_snapshots", "Snapshots", OwnerIds=["self"], Filters=[
        {"Name": "status", "Values": ["pending"]}, {"Name": "tag-key", "Values": [SOURCE_SNAPSHOT]}]))


def start_copy(source: SnapshotRef, *, volume_id: str, tags: dict[str, str], start_time: str, dr_region: str,
               kms_key_id: str | None) -> str:
    """CopySnapshot of `source` into the DR region, encrypted, its own tags carried; the copy's id."""
    carried = {k: v for k, v in tags.items() if not k.startswith(("aws:", "opsflows:"))}
    # "pending" until the DR workflow's own Tag step: retention never deletes a copy its workflow has not seen.
    carried.update({MANAGED: PENDING, VOLUME: volume_id, SOURCE_SNAPSHOT: source.id, SOURCE_REGION: source.region,
                    SOURCE_TIME: start_time})
    params = {"SourceRegion": source.region, "SourceSnapshotId": source.id, "Encrypted": True,
              "Description": f"opsflows DR copy of {source.id} ({source.region}, volume {volume_id})"[:255],
              "TagSpecifications": [{"ResourceType": "snapshot",
                                     "Tags": [{"Key": k, "Value": v} for k, v in sorted(carried.items())]}]}
    if kms_key_id:
        params["KmsKeyId"] = kms_key_id
    return ec2(dr_region).copy_snapshot(**params)["SnapshotId"]


def remove_failed_copy(copy_id: str, dr_region: str) -> bool:
    """Delete a copy AWS failed (state `error`, no data): IAM allows it only on copies still tagged pending."""
    try:
        ec2(dr_region).delete_snapshot(SnapshotId=copy_id)
        return True
    except ClientError as exc:
        if error_code(exc) == "InvalidSnapshot.NotFound":
            return False
        raise
