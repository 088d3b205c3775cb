"""Tag the snapshot of an EBS event as managed by opsflows, with the volume it belongs to.

Primary (createSnapshot): the snapshot's own volume, and `opsflows:dr=pending` until its DR copy completes
(retention keeps it till then). DR (copySnapshot): only copies opsflows made (they carry
opsflows:source-snapshot); their opsflows:volume tag names the original volume.
"""
from __future__ import annotations

import os

from common.handler import lambda_handler

from .ec2 import describe, ec2, start_time
from .model import DR_COPY, MANAGED, PENDING, SOURCE_SNAPSHOT, VOLUME, SnapshotEvent, foreign_manager, tags_of


def tag_snapshot(event: dict, expected: str) -> dict:
    parsed = SnapshotEvent.parse(event, expected)
    snapshot = parsed.snapshot
    described = describe(snapshot)
    tags = tags_of(described)
    result = {"snapshot": snapshot.to_json(), "event": expected}

    owner = foreign_manager(tags)
    if owner:
        return {**result, "managed": False, "reason": f"managed by another service (tag {owner})"}
    if expected == "createSnapshot":
        volume_id = described.get("VolumeId") or parsed.source
    else:
        if SOURCE_SNAPSHOT not in tags or VOLUME not in tags:
            return {**result, "managed": False, "reason": "not a copy made by opsflows"}
        volume_id = tags[VOLUME]

    wanted = {MANAGED: "true", VOLUME: volume_id}
    if expected == "createSnapshot":          # a copy to make: kept by retention until it has reached DR
        wanted[DR_COPY] = tags.get(DR_COPY) or PENDING
    if any(tags.get(k) != v for k, v in wanted.items()):       # a DR copy arrives tagged already
        ec2(snapshot.region).create_tags(Resources=[snapshot.id], Tags=[{"Key": k, "Value": v}
                                                                        for k, v in wanted.items()])
    # The snapshot's own tags travel with the workflow, so the DR copy needs no second describe.
    own = {k: v for k, v in tags.items() if not k.startswith(("aws:", "opsflows:"))}
    return {**result, "managed": True, "volumeId": volume_id, "tags": own, "volumeSize": described.get("VolumeSize"),
            "startTime": start_time(described).isoformat(), **({"dr": wanted[DR_COPY]} if DR_COPY in wanted else {})}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return tag_snapshot(event, os.environ.get("SNAPSHOT_EVENT", "createSnapshot"))
