"""Delete the orphans of one manifest (one child execution of the delete Map): DeleteObjects, 1,000 keys a call.

Runs only after every copy succeeded and the orphan count passed maxDeletes. Guarded: the manifest must be for
this destination, and no key may lie inside the source location (same-bucket syncs)."""
from __future__ import annotations

from common.errors import OpsflowsError
from common.handler import lambda_handler

from .model import SyncRequest
from .s3 import get_manifest, s3

DELETE_BATCH = 1000             # DeleteObjects' maximum


class DeleteFailed(OpsflowsError):
    """S3 refused to delete some orphans; the message counts them and names a few."""


class RefusedDelete(OpsflowsError):
    """The manifest is not for this destination, or would delete inside the source: nothing was deleted."""


def delete_orphans(request: SyncRequest, manifest_key: str) -> dict:
    manifest = get_manifest(manifest_key)
    destination, source = request.destination, request.source
    listed_for = manifest.get("destination", {})
    if (listed_for.get("bucket"), listed_for.get("prefix")) != (destination.bucket, destination.prefix):
        raise RefusedDelete(f"manifest {manifest_key} lists orphans of s3://{listed_for.get('bucket')}/"
                            f"{listed_for.get('prefix')}, not of {destination.url}")
    keys = [destination.key(relative) for relative in manifest["keys"]]
    inside_source = [k for k in keys if destination.bucket == source.bucket and k.startswith(source.prefix)]
    if inside_source:
        raise RefusedDelete(f"refusing to delete {len(inside_source)} key(s) inside the source {source.url}, "
                            f"e.g. {inside_source[0]!r}")

    client, errors = s3(destination.region), []
    for start in range(0, len(keys), DELETE_BATCH):
        chunk = keys[start:start + DELETE_BATCH]
        response = client.delete_objects(Bucket=destination.bucket,
                                         Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
        errors.extend(response.get("Errors", []))
    if errors:
        named = "; ".join(f"{e.get('Key', '')[:200]}: {e.get('Code')}" for e in errors[:3])
        raise DeleteFailed(f"{len(errors)} of {len(keys)} orphan(s) in {destination.url} could not be deleted "
                           f"(e.g. {named})")
    return {"deleted": len(keys)}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return delete_orphans(SyncRequest.from_json(event["request"]), event["manifest"])
