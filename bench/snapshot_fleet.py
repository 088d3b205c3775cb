"""Benchmark: snapshot bursts against the DR region's 20 concurrent copies (EBS quota, not adjustable), counted
and timed on the local cloud's one clock. For bursts of 50, 200 and 1,000 volumes snapshotted at once, copies
lasting 10 minutes to 12 hours (uniform, seeded), it prints:

- time to DR / the quota's bound (20 copies always in flight: max(sum of copy durations / 20, longest copy)),
  with volume sizes that follow their copies' durations (a copy lasts about as long as the data it moves; the
  queue starts a burst's largest snapshots first), and with `--blind` where every volume has the same size (the
  queue can then only go first come, first served);
- the same for a queue with no latency at all, given the order copies started in (what this design does in AWS, where
  a slot is handed over in about a second), and the slot-time the local cloud itself left idle while snapshots
  waited (its latency, converted to simulated time by the clock's scale);
- CopySnapshot calls and rejections (ResourceLimitExceeded) per copy;
- state transitions and Lambda invocations per snapshot (the three flows), FAILED executions and alerts.

    make bench (50 and 200), or .venv/bin/python bench/snapshot_fleet.py [--sizes 50 200 1000] [--blind]
                                                                            [--scale S] [--json]

The local cloud runs one Lambda invocation at a time and its handlers take real milliseconds, which the clock
counts as simulated time (at scale S, 0.1 s of real latency is 0.1/S simulated seconds). So the bench (1) holds
copies while the local cloud takes the burst in (AWS runs a burst's first steps in parallel, in seconds) and
counts time to DR from there, and (2) runs each size at its own scale, slow enough that a hand-over's real latency
is small next to a copy: the idle column shows what is left of it. Running a size at two scales shows the
figure converging to the latency-free one (see README). Exits 1 if a snapshot is not copied exactly once, an
execution FAILED, an alert was published, or the quota was ever exceeded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# One clock per run (its scale is read as time passes): set it before the local cloud starts.
# Real seconds per simulated second, slow enough that the local cloud's hand-over latency (0.1-0.5 s of real time
# a completed copy, more in a bigger cloud) stays a few percent of the time between completions (1,000 copies:
# one every ~18 simulated minutes). 1,000 snapshots take ~45 minutes of real time: `make bench` runs 50 and 200.
SCALES = {50: 0.0005, 200: 0.0005, 1000: 0.002}


def measure(size: int, scale: float, sized: bool = True) -> dict:
    os.environ["LOCALCLOUD_TIME_SCALE"] = str(scale)
    from localcloud import LocalCloud
    from localcloud.rehearse import state_transitions
    from localcloud.scenarios.snapshots_fleet import DR, _peak, burst, copies_per_source

    began = time.monotonic()
    with LocalCloud() as cloud:
        # A 1,000-snapshot burst takes ~13 days to copy (6 h on average, 20 at a time): the deadline must exceed it.
        cloud.deploy("primary", {"opsflows:snapshots": {"retain": 7, "copyDeadlineHours": 24 * 30}})
        cloud.deploy("dr")
        result = burst(cloud, size, 10, 12 * 60, sized=sized)
        per_source = copies_per_source(cloud, set(result.durations))
    copies = len(result.records)
    return {
        "snapshots": size, "sized": sized, "scale": scale, "realSeconds": round(time.monotonic() - began),
        "intakeSeconds": round(result.intake_seconds, 1),
        "timeToDrHours": round(result.time_to_dr / 3600, 2), "boundHours": round(result.bound / 3600, 2),
        "ratio": round(result.time_to_dr / result.bound, 3), "idealRatio": round(result.ideal / result.bound, 3),
        "idleSlotShare": round(result.idle_slot_share, 3),
        "copySnapshotPerCopy": round(result.api_calls.get("ec2.CopySnapshot", 0) / copies, 3),
        "rejectionsPerCopy": round(result.rejections / copies, 3),
        "transitionsPerSnapshot": round(sum(state_transitions(e) for e in result.executions) / size, 2),
        "lambdaPerSnapshot": round(result.lambda_invocations / size, 2),
        "apiCallsPerSnapshot": round(sum(v for k, v in result.api_calls.items() if not k.startswith("lambda."))
                                     / size, 2),
        "failed": sum(e["status"] == "FAILED" for e in result.executions), "alerts": len(result.alerts),
        "copiedOnce": sorted(per_source.values()) == [1] * size, "peakInFlight": _peak(result.records),
        "destination": DR,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 200])
    parser.add_argument("--scale", type=float, help="real seconds per simulated second for every size "
                                                    f"(default per size: {SCALES})")
    parser.add_argument("--blind", action="store_true", help="every volume the same size (FIFO order)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out, sys.stdout = sys.stdout, sys.stderr          # handlers' logs never mix in
    try:
        rows = [measure(n, args.scale or SCALES.get(n, 0.0002), sized=not args.blind) for n in args.sizes]
    finally:
        sys.stdout = out
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("EBS snapshot bursts against 20 concurrent DR copies; copies of 10 min - 12 h (uniform, seed 1)")
        print("| snapshots | sizes | time to DR / bound | same order, no latency / bound | idle slot-time (local cloud) | "
              "CopySnapshot per copy | rejections per copy | transitions per snapshot | Lambda per snapshot | "
              "FAILED | alerts | scale | real s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['snapshots']:,} | {'follow durations' if r['sized'] else 'all equal'} | {r['ratio']:.2f} ({r['timeToDrHours']} h / {r['boundHours']} h) | "
                  f"{r['idealRatio']:.2f} | {r['idleSlotShare']:.1%} | {r['copySnapshotPerCopy']:.2f} | "
                  f"{r['rejectionsPerCopy']:.2f} | {r['transitionsPerSnapshot']:.1f} | {r['lambdaPerSnapshot']:.1f} | "
                  f"{r['failed']} | {r['alerts']} | {r['scale']:g} | {r['realSeconds']} |")
    ok = all(r["copiedOnce"] and not r["failed"] and not r["alerts"] and r["peakInFlight"] <= 20 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
