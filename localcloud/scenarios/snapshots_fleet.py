"""EBS snapshot management at fleet scale: a burst of snapshots (a nightly schedule over a fleet of volumes) whose
DR copies last from minutes to hours, against the DR region's 20 concurrent copies. Every snapshot must reach
the DR region exactly once, with no FAILED execution and no alert; the fleet's time to DR is compared with the
quota's own bound (20 copies always in flight: max(sum of copy durations / 20, longest copy)).

`burst()` is also what bench/snapshot_fleet.py measures. The local cloud runs one Lambda invocation at a time,
so taking in a burst costs it real seconds that AWS (which runs the first steps of all executions at once) does
not spend: copies are held from progressing until every snapshot of the burst is queued or started, and time
to DR is counted from there, on the one clock.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from moto.ec2.models import ec2_backends

from .. import clock
from ..patches import ebs_snapshot_copies as copies
from . import Play, scenario

HOME, DR = "us-west-2", "us-east-2"
QUOTA = copies.LIMIT


@dataclass
class Burst:
    size: int
    durations: dict[str, float]                  # source snapshot -> its copy's simulated seconds
    started: float = 0.0                         # clock.elapsed() when copies were let progress
    time_to_dr: float = 0.0                      # simulated seconds from then to the last copy completed
    intake_seconds: float = 0.0                  # real seconds the local cloud took to queue the burst
    records: list = field(default_factory=list)  # the burst's copies (localcloud.patches.ebs_snapshot_copies.Copy)
    executions: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    lambda_invocations: int = 0
    rejections: int = 0

    @property
    def bound(self) -> float:
        return max(sum(self.durations.values()) / QUOTA, max(self.durations.values()))

    @property
    def ideal(self) -> float:
        """Time to DR of a queue that starts each copy the instant a slot frees (same durations, same order):
        what this design achieves when nothing but the quota delays it."""
        order = sorted(self.records, key=lambda c: (c.started, c.requested))
        free = [0.0] * QUOTA
        for copy in order:
            free.sort()
            free[0] += copy.duration
        return max(free)

    @property
    def idle_slot_share(self) -> float:
        """Slot-time left idle while snapshots were still waiting, as a share of all slot-time until the last
        start: the local cloud's own latency between a copy completing and the next starting."""
        starts = sorted(c.started for c in self.records)
        if len(starts) <= QUOTA:
            return 0.0
        horizon = starts[-1]
        points = sorted({self.started, *starts, *(c.finished for c in self.records if c.finished <= horizon)})
        idle = 0.0
        for a, b in zip(points, points[1:]):
            busy = sum(1 for c in self.records if c.started <= a and c.finished > a)
            idle += (QUOTA - busy) * (b - a)
        return idle / (QUOTA * (horizon - self.started)) if horizon > self.started else 0.0


def burst(cloud: Any, size: int, low_minutes: float, high_minutes: float, seed: int = 1,
          sized: bool = True) -> Burst:
    """`size` volumes snapshotted at once, each copy lasting between the two durations (uniform, seeded). A copy
    lasts about as long as the data it moves: with `sized`, each volume's size follows its copy's duration (1 GiB
    per 45 s of copy: 10 minutes 13 GiB, 12 hours 960 GiB); without, every volume is 100 GiB, so nothing the
    queue can see tells a long copy from a short one."""
    ec2 = cloud.client("ec2", HOME)
    rng = random.Random(seed)
    minutes = [rng.uniform(low_minutes, high_minutes) for _ in range(size)]
    volumes = {ec2.create_volume(Size=max(1, round(m * 60 / 45)) if sized else 100,
                                 AvailabilityZone=f"{HOME}a")["VolumeId"]: m * 60 for m in minutes}
    cloud.run_until_idle()
    durations: dict[str, float] = {}

    def duration(copy: copies.Copy) -> float:
        volume = ec2_backends[copy.account][copy.source_region].snapshots[copy.source_id].volume.id
        return durations.setdefault(copy.source_id, volumes[volume])

    before = {e.execution_arn for e in cloud._all_executions()}
    alerts_before, calls_before = len(cloud.alerts()), dict(cloud.metrics.api_calls)
    invocations_before = sum(cloud.metrics.lambda_invocations.values())
    rejections_before = copies.COPIES.rejections[DR]
    copies.set_duration(duration)
    copies.COPIES.hold()
    began = time.monotonic()
    try:
        made = {ec2.create_snapshot(VolumeId=v)["SnapshotId"] for v in volumes}
        flows = 0
        while flows < size or cloud.running() > max(0, size - QUOTA):      # the rest wait for their token
            time.sleep(0.05)
            flows = sum(1 for e in cloud._all_executions() if e.execution_arn not in before)
    finally:
        result = Burst(size, durations, started=clock.elapsed(), intake_seconds=time.monotonic() - began)
        copies.COPIES.release()
    cloud.run_until_idle(timeout=3600)
    copies.set_duration(copies.DEFAULT_DURATION)
    result.records = [c for c in copies.COPIES.of(DR) if c.source_id in made]
    result.time_to_dr = max(c.finished for c in result.records) - result.started
    fresh = [e for e in cloud._all_executions() if e.execution_arn not in before]
    result.executions = [cloud.execution(e.execution_arn) for e in fresh]
    result.alerts = cloud.alerts()[alerts_before:]
    result.api_calls = {k: n - calls_before.get(k, 0) for k, n in cloud.metrics.api_calls.items()
                        if n - calls_before.get(k, 0)}
    result.lambda_invocations = sum(cloud.metrics.lambda_invocations.values()) - invocations_before
    result.rejections = copies.COPIES.rejections[DR] - rejections_before
    return result


def copies_per_source(cloud: Any, sources: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    paginator = cloud.client("ec2", DR).get_paginator("describe_snapshots")
    for page in paginator.paginate(OwnerIds=["self"], Filters=[{"Name": "tag-key", "Values": ["opsflows:source-snapshot"]}]):
        for s in page["Snapshots"]:
            source = next(t["Value"] for t in s.get("Tags", []) if t["Key"] == "opsflows:source-snapshot")
            if source in sources:
                found[source] = found.get(source, 0) + 1
    return found


@scenario("snapshots-fleet", needs=("primary", "dr"))
def snapshots_fleet(play: Play) -> None:
    """100 volumes snapshotted at once, copies of 20-90 minutes: all reach DR once, near the quota's bound."""
    result = burst(play.cloud, 100, 20, 90)
    sources = {c.source_id for c in result.records}
    per_source = copies_per_source(play.cloud, set(result.durations))
    statuses = [e["status"] for e in result.executions]
    play.invariant("every snapshot of the burst reached the DR region exactly once",
                   len(result.durations) == 100 and sorted(per_source.values()) == [1] * 100,
                   f"{len(per_source)} of 100 have copies; more than one: "
                   f"{[s for s, n in per_source.items() if n > 1]}")
    play.invariant(f"never more than {QUOTA} copies in flight into {DR}", _peak(result.records) <= QUOTA,
                   _peak(result.records))
    play.check("no execution FAILED and no alert", "FAILED" not in statuses and not result.alerts,
               [e["error"] for e in result.executions if e["status"] == "FAILED"])
    play.check("CopySnapshot was never refused for the quota", result.rejections == 0, result.rejections)
    ratio = result.time_to_dr / result.bound
    play.check("time to DR within 1.2x the quota's bound", ratio <= 1.2, f"{ratio:.2f}x")
    play.state(f"{len(sources)} copies into {DR}: time to DR {result.time_to_dr / 3600:.2f} h against the quota's "
               f"bound {result.bound / 3600:.2f} h ({ratio:.2f}x; the same order with no latency: "
               f"{result.ideal / result.bound:.2f}x); {result.rejections} CopySnapshot refusals; "
               f"peak {_peak(result.records)} copies in flight")
    play.state(f"the local cloud took {result.intake_seconds:.1f} s of real time to queue the burst (copies held "
               "meanwhile: AWS starts a burst's executions together)")


def _peak(records: list) -> int:
    moments = sorted([(c.started, 1) for c in records] + [(c.finished, -1) for c in records], key=lambda m: (m[0], m[1]))
    level = peak = 0
    for _, step in moments:
        level += step
        peak = max(peak, level)
    return peak
