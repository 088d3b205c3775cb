"""EBS snapshot management, DR stack alone: copies arrive as the primary's CopyToDR makes them (encrypted,
tagged `pending` with the original volume); the DR workflow tags each and keeps the newest N; a copy
someone else made is ignored."""
from __future__ import annotations

from . import Play, scenario


@scenario("snapshots-dr", needs=("dr",), without=("primary",))
def snapshots_dr(play: Play) -> None:
    """Copies into the DR region as opsflows makes them; DR retention; a foreign copy ignored."""
    cloud, config = play.cloud, play.deployments["dr"].config
    dr_region, retain = config["aws:region"], config["opsflows:snapshots"]["retain"]
    source_region = "us-west-2"
    source = cloud.client("ec2", source_region)
    volume = source.create_volume(Size=8, AvailabilityZone=f"{source_region}a")["VolumeId"]
    dr = cloud.client("ec2", dr_region)

    copies = []
    for _ in range(retain + 2):
        snap = source.create_snapshot(VolumeId=volume)["SnapshotId"]
        copies.append(dr.copy_snapshot(SourceRegion=source_region, SourceSnapshotId=snap, Encrypted=True,
                                       TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                                           {"Key": "opsflows:managed", "Value": "pending"},
                                           {"Key": "opsflows:volume", "Value": volume},
                                           {"Key": "opsflows:source-snapshot", "Value": snap},
                                           {"Key": "opsflows:source-region", "Value": source_region}]}])["SnapshotId"])
        cloud.run_until_idle()
    foreign = dr.copy_snapshot(SourceRegion=source_region, SourceSnapshotId=snap)["SnapshotId"]
    cloud.run_until_idle()

    left = {s["SnapshotId"] for s in dr.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    play.check(f"DR keeps the newest {retain} copies of the volume", left - {foreign} == set(copies[-retain:]),
               sorted(left))
    play.invariant("a copy opsflows did not make is left alone", foreign in left)
    runs = cloud.executions(play.output("dr", "snapshotStateMachineArn"))
    play.check("every DR execution succeeded", {e["status"] for e in runs} == {"SUCCEEDED"},
               [e["status"] for e in runs])
    play.state(f"{dr_region}: {len(left - {foreign})} managed copies of {volume}, 1 foreign copy untouched")
