"""EBS snapshot management: a volume snapshotted repeatedly in the primary region, retention there, the DR
copy and the DR workflow's own retention."""
from __future__ import annotations

from . import Play, scenario

VOLUME_SNAPSHOTS_OVER_RETAIN = 3


def managed(ec2, volume_tag_value: str) -> list[dict]:
    return ec2.describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag:opsflows:volume", "Values": [volume_tag_value]}])["Snapshots"]


@scenario("snapshots", needs=("primary", "dr"))
def snapshots(play: Play) -> None:
    """Snapshot a volume retain+3 times; keep the newest N in each region; copies encrypted in DR."""
    cloud = play.cloud
    primary, dr = play.deployments["primary"].config, play.deployments.get("dr")
    home, dr_region = primary["aws:region"], primary["opsflows:drRegion"]
    retain = primary["opsflows:snapshots"]["retain"]
    ec2 = cloud.client("ec2", home)
    alerts_before = len(cloud.alerts())        # scenarios share one cloud: only this one's alerts count
    volume = ec2.create_volume(Size=8, AvailabilityZone=f"{home}a")["VolumeId"]
    other = ec2.create_volume(Size=8, AvailabilityZone=f"{home}a")["VolumeId"]

    other_made = [ec2.create_snapshot(VolumeId=other, Description="other volume")["SnapshotId"] for _ in range(2)]
    cloud.run_until_idle()
    made = []
    for i in range(retain + VOLUME_SNAPSHOTS_OVER_RETAIN):       # one scheduled snapshot after another
        made.append(ec2.create_snapshot(VolumeId=volume, Description=f"nightly {i}")["SnapshotId"])
        cloud.run_until_idle()

    kept = sorted(s["SnapshotId"] for s in managed(ec2, volume))
    play.check(f"primary keeps the newest {retain} snapshots of the volume", kept == sorted(made[-retain:]),
               f"kept {kept}")
    play.check("the other volume's snapshots are untouched",
               sorted(s["SnapshotId"] for s in managed(ec2, other)) == sorted(other_made))
    play.state(f"{home}: {volume} has {len(kept)} managed snapshots (newest {retain} of {len(made)} made); "
               f"{other} has {len(other_made)}")

    copies = managed(cloud.client("ec2", dr_region), volume)
    sources = sorted(next(t["Value"] for t in c["Tags"] if t["Key"] == "opsflows:source-snapshot") for c in copies)
    play.check("every DR copy is encrypted", all(c["Encrypted"] for c in copies), copies)
    if dr is not None:
        dr_retain = dr.config["opsflows:snapshots"]["retain"]
        play.check(f"DR keeps copies of the newest {dr_retain}", sources == sorted(made[-dr_retain:]),
                   f"copies of {sources}")
    play.state(f"{dr_region}: {len(copies)} encrypted copies of {volume}'s snapshots")
    play.check("no alert was published", cloud.alerts()[alerts_before:] == [], cloud.alerts()[alerts_before:])
