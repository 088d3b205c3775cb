"""EBS snapshot management: a volume snapshotted repeatedly in the primary region, retention there, the DR
copy (queued for one of the DR region's copy slots, pending for a while) and the DR workflow's own retention."""
from __future__ import annotations

from . import Play, scenario

VOLUME_SNAPSHOTS_OVER_RETAIN = 3


def managed(ec2, volume_tag_value: str) -> list[dict]:
    return ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag:opsflows:volume", "Values": [volume_tag_value]}])["Snapshots"]


def of_volume(ec2, volume: str) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]}


@scenario("snapshots", needs=("primary", "dr"))
def snapshots(play: Play) -> None:
    """Snapshot a volume retain+3 times; keep the newest N in each region; copies encrypted in DR, once each."""
    cloud = play.cloud
    primary, dr = play.deployments["primary"].config, play.deployments.get("dr")
    home, dr_region = primary["aws:region"], primary["opsflows:drRegion"]
    retain = primary["opsflows:snapshots"]["retain"]
    ec2, dr_ec2 = cloud.client("ec2", home), cloud.client("ec2", dr_region)
    alerts_before = len(cloud.alerts())        # scenarios share one cloud: only this one's alerts count
    volume = ec2.create_volume(Size=8, AvailabilityZone=f"{home}a")["VolumeId"]
    other = ec2.create_volume(Size=8, AvailabilityZone=f"{home}a")["VolumeId"]

    backup = ec2.create_snapshot(VolumeId=volume, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "aws:backup:source-resource", "Value": volume}]}])["SnapshotId"]       # AWS Backup's, not ours
    other_made = [ec2.create_snapshot(VolumeId=other, Description="other volume")["SnapshotId"] for _ in range(2)]
    cloud.run_until_idle()
    made, deleted_early = [], []
    for i in range(retain + VOLUME_SNAPSHOTS_OVER_RETAIN):       # one scheduled snapshot after another
        made.append(ec2.create_snapshot(VolumeId=volume, Description=f"nightly {i}")["SnapshotId"])
        cloud.run_until_idle()
        copied = {next(t["Value"] for t in c["Tags"] if t["Key"] == "opsflows:source-snapshot")
                  for c in dr_ec2.describe_snapshots(OwnerIds=["self"], Filters=[
                      {"Name": "tag:opsflows:volume", "Values": [volume]}])["Snapshots"]}
        deleted_early += [m for m in made if m not in of_volume(ec2, volume) and m not in copied and m not in
                          deleted_early and not _was_copied(cloud, m)]

    kept = sorted(s["SnapshotId"] for s in managed(ec2, volume))
    play.check(f"primary keeps the newest {retain} snapshots of the volume", kept == sorted(made[-retain:]),
               f"kept {kept}")
    play.invariant("the other volume's snapshots are untouched",
                   sorted(s["SnapshotId"] for s in managed(ec2, other)) == sorted(other_made))
    play.invariant("the AWS Backup snapshot of the volume is untouched", backup in of_volume(ec2, volume))
    play.invariant("no snapshot was deleted before its DR copy was made", not deleted_early, deleted_early)
    play.state(f"{home}: {volume} has {len(kept)} managed snapshots (newest {retain} of {len(made)} made) and "
               f"AWS Backup's; {other} has {len(other_made)}")

    copies = managed(dr_ec2, volume)
    sources = sorted(next(t["Value"] for t in c["Tags"] if t["Key"] == "opsflows:source-snapshot") for c in copies)
    play.invariant("no snapshot has two DR copies", len(sources) == len(set(sources)), sources)
    play.check("every DR copy is encrypted and completed",
               all(c["Encrypted"] and c["State"] == "completed" for c in copies), copies)
    if dr is not None:
        dr_retain = dr.config["opsflows:snapshots"]["retain"]
        play.check(f"DR keeps copies of the newest {dr_retain}", sources == sorted(made[-dr_retain:]),
                   f"copies of {sources}")
    play.state(f"{dr_region}: {len(copies)} encrypted copies of {volume}'s snapshots")
    play.check("no alert was published", cloud.alerts()[alerts_before:] == [], cloud.alerts()[alerts_before:])


def _was_copied(cloud, snapshot_id: str) -> bool:
    """Its DR copy completed (DR retention may have deleted it since): the copy ledger says so."""
    (table,) = cloud.deployments["primary"].of_type("aws:dynamodb/table:Table")
    item = cloud.client("dynamodb", table.region).get_item(TableName=table.outputs["name"], ConsistentRead=True, Key={
        "pk": {"S": f"snapshot#{snapshot_id}"}, "sk": {"S": "copy"}}).get("Item") or {}
    return item.get("state", {}).get("S") == "copied"
