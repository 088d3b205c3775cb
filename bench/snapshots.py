"""Benchmark: AWS API calls and state transitions per createSnapshot event, counted in the local cloud.

The cost of one event must not depend on how many snapshots the account holds: other volumes' snapshots
(managed ones, made through the workflow) are added before the measured event. Run: make bench, or
    .venv/bin/python bench/snapshots.py [--others 0 50 200]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localcloud import LocalCloud  # noqa: E402
from localcloud.rehearse import state_transitions  # noqa: E402

HOME = "us-west-2"


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
        before = {e["arn"] for e in cloud.executions()}
        cloud.metrics.reset()
        ec2.create_snapshot(VolumeId=measured)
        cloud.run_until_idle()
        runs = [e for e in cloud.executions() if e["arn"] not in before]
        assert [e["status"] for e in runs] == ["SUCCEEDED", "SUCCEEDED"], runs
        calls = {k: v for k, v in cloud.metrics.api_calls.items() if not k.startswith("lambda.")}
        return {"others": others, "apiCalls": calls, "total": sum(calls.values()),
                "transitions": {e["stateMachineArn"].split(":")[3]: state_transitions(e) for e in runs},
                "lambda": sum(cloud.metrics.lambda_invocations.values())}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--others", type=int, nargs="*", default=[0, 50])
    args = parser.parse_args()
    results = [measure(n) for n in args.others]
    print("EBS snapshot management — one createSnapshot event (primary + its DR copy event), volume at retention")
    print(f"{'other snapshots':>16} {'API calls':>10} {'transitions (primary/DR)':>25} {'Lambda':>7}  calls")
    for r in results:
        t = r["transitions"]
        print(f"{r['others']:>16} {r['total']:>10} {t.get(HOME, 0):>12}/{t.get('us-east-2', 0):<12} {r['lambda']:>7}  "
              + ", ".join(f"{k} {v}" for k, v in sorted(r["apiCalls"].items())))
    same = len({r["total"] for r in results}) == 1
    print("calls per event independent of other snapshots:", "yes" if same else "NO")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
