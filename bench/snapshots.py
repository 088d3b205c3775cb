"""Benchmark: AWS API calls, state transitions and Lambda invocations per createSnapshot event, counted in the
local cloud: the primary flow (Tag, Retain, CopyToDR), the copies flow its completed DR copy starts (Settle,
Retain) and the DR flow (Tag, Retain), for a volume at its retention limit.

The cost of one event must not depend on how many snapshots the account holds: other volumes' snapshots
(managed ones, made through the workflow) are added before the measured event. Run: make bench, or
    .venv/bin/python bench/snapshots.py [--others 0 50 200]
The fleet (bursts against the DR region's 20 concurrent copies) is measured by bench/snapshot_fleet.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localcloud import LocalCloud  # noqa: E402
from localcloud.rehearse import state_transitions  # noqa: E402

HOME, DR = "us-west-2", "us-east-2"


def measure(others: int) -> dict:
    with LocalCloud() as cloud:
        cloud.deploy("primary")
        cloud.deploy("dr")
        ec2 = cloud.client("ec2", HOME)
        volumes = [ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"] for _ in range(5)]
        for i in range(others):
            ec2.create_snapshot(VolumeId=volumes[i % len(volumes)])
        cloud.run_until_idle(timeout=600)
        measured = ec2.create_volume(Size=8, AvailabilityZone=f"{HOME}a")["VolumeId"]
        for _ in range(7):                    # the measured volume is at its retention limit already
            ec2.create_snapshot(VolumeId=measured)
            cloud.run_until_idle()
        before = {e.execution_arn for e in cloud._all_executions()}
        cloud.metrics.reset()
        ec2.create_snapshot(VolumeId=measured)
        cloud.run_until_idle()
        runs = [cloud.execution(e.execution_arn) for e in cloud._all_executions() if e.execution_arn not in before]
        assert sorted(e["status"] for e in runs) == ["SUCCEEDED"] * 3, runs
        calls = {k: v for k, v in cloud.metrics.api_calls.items() if not k.startswith("lambda.")}

        def flow(e: dict) -> str:
            return "dr" if e["stateMachineArn"].split(":")[3] == DR else (
                "copies" if "Settle" in e["states"] else "primary")
        return {"others": others, "apiCalls": calls, "total": sum(calls.values()),
                "ec2": sum(v for k, v in calls.items() if k.startswith("ec2.")),
                "transitions": {flow(e): state_transitions(e) for e in runs},
                "lambda": sum(cloud.metrics.lambda_invocations.values())}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--others", type=int, nargs="*", default=[0, 50])
    args = parser.parse_args()
    results = [measure(n) for n in args.others]
    print("EBS snapshot management — one createSnapshot event, its DR copy settled, the DR copy's event; volume "
          "at retention")
    print(f"{'other snapshots':>16} {'API calls':>10} {'EC2':>4} {'transitions (primary/copies/DR)':>32} "
          f"{'Lambda':>7}  calls")
    for r in results:
        t = r["transitions"]
        print(f"{r['others']:>16} {r['total']:>10} {r['ec2']:>4} "
              f"{t.get('primary', 0):>18}/{t.get('copies', 0)}/{t.get('dr', 0):<11} {r['lambda']:>7}  "
              + ", ".join(f"{k} {v}" for k, v in sorted(r["apiCalls"].items())))
    same = len({r["total"] for r in results}) == 1
    print("calls per event independent of other snapshots:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
