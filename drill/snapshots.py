"""Snapshots exercise: a canary 1 GiB gp3 volume and one snapshot of it; the real EBS event drives the workflow.

primary: createSnapshot -> the workflow tags the snapshot (opsflows:managed, opsflows:volume), keeps it (the
         volume's only snapshot), copies it to drRegion; the dr stack's workflow then tags the copy.
dr:      the DR workflow is driven by copySnapshot events for copies opsflows made, so the drill makes one
         itself: a copy of the canary snapshot in the same region, tagged exactly as the primary workflow tags
         its copies; the workflow must tag it managed and keep it.
"""
from __future__ import annotations

from .context import Drill, pages, tags_of
from .executions import Finder, finished, output, summary
from .report import Run

NAME = "snapshots"
NEEDS = ("snapshotStateMachineArn",)
KINDS = ("snapshots", "volumes")
MANAGED, VOLUME = "opsflows:managed", "opsflows:volume"
SOURCE_SNAPSHOT, SOURCE_REGION = "opsflows:source-snapshot", "opsflows:source-region"


def preflight(drill: Drill) -> None:
    drill.outputs.arn("snapshotStateMachineArn")


def run(drill: Drill, run: Run) -> None:
    region = drill.outputs.home_region
    snapshot = canary_snapshot(drill, run, region)
    (primary if drill.stack == "primary" else dr)(drill, run, region, snapshot)


def canary_snapshot(drill: Drill, run: Run, region: str) -> dict:
    ec2 = drill.client("ec2", region)
    zone = next(z["ZoneName"] for z in ec2.describe_availability_zones(
        Filters=[{"Name": "state", "Values": ["available"]}, {"Name": "zone-type", "Values": ["availability-zone"]}]
    )["AvailabilityZones"])
    tags = [{"ResourceType": "volume", "Tags": [*drill.tag_list(), {"Key": "Name", "Value": drill.name}]}]
    volume = ec2.create_volume(AvailabilityZone=zone, Size=1, VolumeType="gp3", TagSpecifications=tags)["VolumeId"]
    run.step(f"created canary volume {volume} (1 GiB gp3, {zone})")
    ready = drill.until(lambda: _volume_state(ec2, volume) == "available")
    run.require("the canary volume is available", bool(ready), _volume_state(ec2, volume))
    snapshot = ec2.create_snapshot(VolumeId=volume, Description=f"opsflows fire drill {drill.id}",
                                   TagSpecifications=[{"ResourceType": "snapshot", "Tags": drill.tag_list()}])
    run.step(f"created snapshot {snapshot['SnapshotId']} of it; waiting for it to complete")
    completed = drill.until(lambda: _completed(ec2, snapshot["SnapshotId"]))
    run.require("the canary snapshot completed", bool(completed), _describe(ec2, snapshot["SnapshotId"]).get("State"))
    return {"id": snapshot["SnapshotId"], "volume": volume, "region": region}


def primary(drill: Drill, run: Run, region: str, snapshot: dict) -> None:
    ec2 = drill.client("ec2", region)
    snap, volume = snapshot["id"], snapshot["volume"]
    execution = Finder(drill, drill.outputs.arn("snapshotStateMachineArn")).find(snap)
    run.require("the createSnapshot event started the snapshot workflow", bool(execution),
                execution["name"] if execution else f"no execution of snapshotStateMachineArn names {snap}")
    described = finished(drill, execution["executionArn"])
    run.require("the workflow SUCCEEDED", bool(described) and described["status"] == "SUCCEEDED",
                summary(described) if described else "still RUNNING at the deadline")
    tags = tags_of(_describe(ec2, snap).get("Tags"))
    run.check("the snapshot is tagged managed, with its volume",
              tags.get(MANAGED) == "true" and tags.get(VOLUME) == volume,
              {k: v for k, v in tags.items() if k.startswith("opsflows:")})
    retention = output(described).get("retention") or {}
    run.check("retention kept it (the volume's only snapshot) and deleted nothing",
              snap in retention.get("kept", []) and not retention.get("deleted") and bool(_describe(ec2, snap)),
              {k: retention.get(k) for k in ("kept", "deleted")})

    dr_region = drill.outputs.dr_region
    dr_ec2 = drill.client("ec2", dr_region)
    run.step(f"waiting for the DR copy of {snap} in {dr_region}")

    def copy() -> dict | None:
        found = list(pages(dr_ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"],
                           Filters=[{"Name": f"tag:{SOURCE_SNAPSHOT}", "Values": [snap]}]))
        return found[0] if found else None

    made = drill.until(copy)
    run.require(f"a DR copy of {snap} exists in {dr_region}", bool(made),
                f"{made['SnapshotId']} ({made['State']})" if made else
                f"no snapshot tagged {SOURCE_SNAPSHOT}={snap} in {dr_region} at the deadline")
    run.step(f"waiting for DR copy {made['SnapshotId']} to complete and be tagged by the dr stack's workflow")
    done = drill.until(lambda: (lambda c: c if c and c["State"] != "pending" and
                                tags_of(c.get("Tags")).get(MANAGED) == "true" else None)(copy()))
    last = done or copy() or made
    copy_tags = tags_of(last.get("Tags"))
    if last["State"] == "pending":
        run.require("the DR copy completed", False,
                    f"copy {last['SnapshotId']} still pending at the deadline ({drill.options.deadline:g} s, "
                    f"progress {last.get('Progress') or '?'}); rerun with a longer --deadline")
    run.require("the DR copy completed", last["State"] == "completed", last["State"])
    run.check("the copy is encrypted and carries the source's tags (opsflows:volume, source, drill tags)",
              last.get("Encrypted") is True and copy_tags.get(VOLUME) == volume
              and copy_tags.get(SOURCE_REGION) == region and all(copy_tags.get(k) == v for k, v in drill.tags.items()),
              {"encrypted": last.get("Encrypted"), **copy_tags})
    run.check("the dr stack's workflow tagged the copy managed", copy_tags.get(MANAGED) == "true",
              f"{MANAGED}={copy_tags.get(MANAGED)!r}" + ("" if done else " at the deadline: is the dr stack deployed?"))


def dr(drill: Drill, run: Run, region: str, snapshot: dict) -> None:
    ec2 = drill.client("ec2", region)
    snap, volume = snapshot["id"], snapshot["volume"]
    carried = {MANAGED: "pending", VOLUME: volume, SOURCE_SNAPSHOT: snap, SOURCE_REGION: region, **drill.tags}
    made = ec2.copy_snapshot(SourceRegion=region, SourceSnapshotId=snap, Encrypted=True,
                             Description=f"opsflows fire drill {drill.id}: a copy as the primary workflow makes them",
                             TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                                 {"Key": k, "Value": v} for k, v in sorted(carried.items())]}])["SnapshotId"]
    run.step(f"copied {snap} to {made}, tagged as an opsflows DR copy; waiting for the copySnapshot event's workflow")
    execution = Finder(drill, drill.outputs.arn("snapshotStateMachineArn")).find(made)
    if not execution and _describe(ec2, made).get("State") == "pending":
        run.require("the copy completed", False, f"copy {made} still pending at the deadline "
                    f"({drill.options.deadline:g} s); rerun with a longer --deadline")
    run.require("the copySnapshot event started the DR snapshot workflow", bool(execution),
                execution["name"] if execution else f"no execution of snapshotStateMachineArn names {made}")
    described = finished(drill, execution["executionArn"])
    run.require("the workflow SUCCEEDED", bool(described) and described["status"] == "SUCCEEDED",
                summary(described) if described else "still RUNNING at the deadline")
    tags = tags_of(_describe(ec2, made).get("Tags"))
    run.check("the copy is tagged managed, with the original volume", tags.get(MANAGED) == "true"
              and tags.get(VOLUME) == volume, {k: v for k, v in tags.items() if k.startswith("opsflows:")})
    retention = output(described).get("retention") or {}
    run.check("retention kept it and deleted nothing", made in retention.get("kept", []) and not retention.get("deleted"),
              {k: retention.get(k) for k in ("kept", "deleted")})


def _describe(ec2, snapshot_id: str) -> dict:
    found = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
    return found[0] if found else {}


def _completed(ec2, snapshot_id: str) -> bool:
    state = _describe(ec2, snapshot_id).get("State")
    if state == "error":
        raise RuntimeError(f"snapshot {snapshot_id} ended in state error")
    return state == "completed"


def _volume_state(ec2, volume_id: str) -> str:
    return ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"]
