"""Bucket-sync exercise: two canary buckets opsflows-drill-<id>-src and -dst (allowlisted by an
`opsflows-drill-*` entry), a handful of objects including hostile keys; a dry run that changes nothing, a sync
after which the destination equals the source, and a rerun that copies and deletes nothing."""
from __future__ import annotations

from typing import Any

from .context import PREFIX, Drill
from .executions import finished, output, start, summary
from .outputs import DrillSetupError
from .report import Run

NAME = "bucket-sync"
NEEDS = ("bucketSyncStateMachineArn",)
KINDS = ("buckets",)
HOSTILE = ["../../outside/of the bucket?x=1&y=2#frag", "ünïcødé 日本/ spaces &+%20=;'\"<>.txt", "//double//slash"]
SOURCE = {"index.html": b"<h1>drill</h1>", "nested/deep/page.html": b"page", "same.txt": b"unchanged",
          "changed.txt": b"new content", **{k: k.encode() for k in HOSTILE}}
DESTINATION = {"same.txt": b"unchanged", "changed.txt": b"old", "orphan.txt": b"not in the source"}


def allows(entries: Any, bucket: str) -> bool:
    """As the workflow's Validate step decides (functions/bucket_sync/model.py is_allowed): the exact name, or a
    prefix entry ending in *."""
    return any(isinstance(e, str) and (bucket == e or (e.endswith("*") and bucket.startswith(e[:-1])))
               for e in entries or [])


def buckets(drill: Drill) -> tuple[str, str]:
    return f"{drill.name}-src", f"{drill.name}-dst"


def preflight(drill: Drill) -> None:
    allowed = drill.outputs.get("bucketSyncAllowedBuckets")
    refused = [b for b in buckets(drill) if not allows(allowed, b)]
    if refused:
        raise DrillSetupError(
            f"bucket-sync: the canary buckets ({', '.join(refused)}) are not in opsflows:bucketSync.allowedBuckets "
            f"(now {allowed}). Allowlist them with a prefix entry in Pulumi.{drill.stack}.yaml:\n"
            f"    opsflows:bucketSync:\n      allowedBuckets: [..., \"{PREFIX}*\"]\n"
            "then `pulumi up`, or leave this exercise out (--only snapshots,credentials,genomics). Nothing was created.")


def run(drill: Drill, run: Run) -> None:
    machine = drill.outputs.arn("bucketSyncStateMachineArn")
    region = machine.split(":")[3]
    s3 = drill.client("s3", region)
    source, destination = buckets(drill)
    for name, objects in ((source, SOURCE), (destination, DESTINATION)):
        make_bucket(drill, s3, name, region)
        for key, body in objects.items():
            s3.put_object(Bucket=name, Key=key, Body=body)
    run.step(f"created {source} ({len(SOURCE)} objects, {len(HOSTILE)} with hostile keys) and {destination} "
             f"({len(DESTINATION)} objects: 1 same, 1 changed, 1 orphan) in {region}")
    before = listing(s3, destination)

    def sync(suffix: str, **extra: Any) -> dict:
        arn = start(drill, machine, f"{drill.name}-{suffix}", {"source": source, "destination": destination, **extra})
        described = finished(drill, arn)
        run.require(f"the {suffix} execution SUCCEEDED", bool(described) and described["status"] == "SUCCEEDED",
                    summary(described) if described else "still RUNNING at the deadline")
        return output(described)

    dry = sync("dry-run", dryRun=True)
    run.check("the dry run changed nothing", listing(s3, destination) == before,
              {k: dry.get(k) for k in ("wouldCopy", "wouldDelete", "copied", "deleted")})
    first = sync("sync")
    after = listing(s3, destination, modified=True)
    run.check("the destination equals the source (keys, sizes, ETags)", listing(s3, destination) == listing(s3, source),
              {k: first.get(k) for k in ("copied", "skippedUnchanged", "deleted", "failed")})
    run.check("the hostile keys arrived byte for byte",
              all(s3.get_object(Bucket=destination, Key=k)["Body"].read() == SOURCE[k] for k in HOSTILE), HOSTILE)
    second = sync("rerun")
    run.check("the rerun copied and deleted nothing (every destination object as the sync left it)",
              second.get("copied") == 0 and second.get("deleted") == 0
              and listing(s3, destination, modified=True) == after,
              {k: second.get(k) for k in ("copied", "skippedUnchanged", "deleted")})


def make_bucket(drill: Drill, s3: Any, name: str, region: str) -> None:
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": drill.tag_list()})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def listing(s3: Any, bucket: str, modified: bool = False) -> dict[str, tuple]:
    """key -> (size, ETag[, LastModified]) of every object."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            found[o["Key"]] = (o["Size"], o["ETag"], *((o["LastModified"],) if modified else ()))
    return found
