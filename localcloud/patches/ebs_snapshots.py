"""EBS snapshots as AWS has them, for what snapshot management relies on:

- Start times: AWS records milliseconds; moto serialises whole seconds, so snapshots made in the same second
  tie and "newest" is ambiguous. The local cloud spaces start times at least one second apart.
- DescribeSnapshots honours OwnerIds ("self" or account ids) and pages with MaxResults/NextToken; moto
  ignores both (every snapshot, one page), so pagination would never be exercised.
- AWS emits an "EBS Snapshot Notification" event when a snapshot is created; moto emits none. After each
  CreateSnapshot the event goes to the region's default bus (see ..events). Copies (pending for a while, at
  most 20 in flight per Region, their event when they complete) are modelled in .ebs_snapshot_copies.
"""
from __future__ import annotations

import datetime
import threading

from moto.ec2.models.elastic_block_store import Snapshot
from moto.core.responses import ActionResult
from moto.ec2.responses.elastic_block_store import ElasticBlockStore

from .. import events

_CLOCK = threading.Lock()
_LAST: list[datetime.datetime] = []


def apply() -> None:
    original_init = Snapshot.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        with _CLOCK:
            if _LAST and self.start_time < _LAST[-1] + datetime.timedelta(seconds=1):
                self.start_time = _LAST[-1] + datetime.timedelta(seconds=1)
            _LAST[:] = [self.start_time]

    Snapshot.__init__ = __init__

    original_create = ElasticBlockStore.create_snapshot

    def create_snapshot(self):
        result = original_create(self)
        snapshot = self.ec2_backend.get_snapshot(_snapshot_id(result))
        events.emit_ebs_snapshot(self.current_account, self.region, "createSnapshot", snapshot.id,
                                 source=f"arn:aws:ec2::{self.region}:volume/{snapshot.volume.id}")
        return result

    def describe_snapshots(self):
        snapshots = self.ec2_backend.describe_snapshots(snapshot_ids=self._get_param("SnapshotIds", []),
                                                        filters=self._filters_from_querystring())
        owners = self._get_param("OwnerIds", [])
        if owners:
            wanted = {self.current_account if o == "self" else o for o in owners}
            snapshots = [s for s in snapshots if str(s.owner_id) in wanted]
        snapshots = sorted(snapshots, key=lambda s: s.id)
        limit, start = self._get_param("MaxResults"), int(self._get_param("NextToken") or 0)
        if not limit:
            return ActionResult({"Snapshots": snapshots})
        page = snapshots[start:start + int(limit)]
        more = start + int(limit) < len(snapshots)
        return ActionResult({"Snapshots": page, **({"NextToken": str(start + int(limit))} if more else {})})

    ElasticBlockStore.describe_snapshots = describe_snapshots
    ElasticBlockStore.create_snapshot = create_snapshot


def _snapshot_id(result) -> str:
    data = getattr(result, "result", result)
    if isinstance(data, dict) and "SnapshotId" in data:
        return data["SnapshotId"]
    if hasattr(data, "id"):
        return data.id
    raise RuntimeError(f"cannot read the snapshot id from moto's response {result!r}")
