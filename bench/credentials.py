"""Benchmark: state transitions, Lambda invocations and AWS API calls per AWS Health credential event,
counted in the local cloud (no timings).

CloudTrail is read in pages of 50, so LookupEvents calls grow as ceil(events/50) per key (at least 1, at
most maxEvents/50); everything else is constant per key. Run: make bench, or
    .venv/bin/python bench/credentials.py [--events 0 130 1000]

The LookupEvents quota (2 requests/s per account and Region, localcloud/patches/cloudtrail.py) is measured apart,
at LOCALCLOUD_TIME_SCALE=0.01: there the local cloud's own work per request (~2.5 ms real) is ~0.025 s simulated,
small next to the quota's half second, as an AWS request is; at the default 0.001 that work alone spaces requests
2.5 simulated seconds apart and no request is ever throttled. Simulated time is the execution's, on the one clock.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localcloud import LocalCloud, clock  # noqa: E402
from localcloud.patches import cloudtrail  # noqa: E402
from localcloud.rehearse import state_transitions  # noqa: E402

REGION = "us-east-1"
PAGE = 50


def health_event(*keys: str) -> dict:
    return {"version": "0", "id": "bench", "detail-type": "AWS Health Event", "source": "aws.health",
            "account": "123456789012", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION, "resources": [],
            "detail": {"eventArn": "arn:aws:health:us-east-1::event/AWS_RISK_CREDENTIALS_EXPOSED_B", "service": "RISK",
                       "eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED",
                       "affectedEntities": [{"entityValue": k} for k in keys]}}


class Bench:
    def __init__(self, cloud: LocalCloud, machine: str):
        self.cloud, self.machine, self.users = cloud, machine, 0
        self.iam = cloud.client("iam", REGION)

    def key(self, events: int = 0) -> str:
        self.users += 1
        name = f"bench-{self.users}"
        self.iam.create_user(UserName=name)
        key, _ = (self.iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(2))
        now = datetime.now(timezone.utc)
        cloudtrail.seed_events([cloudtrail.event("GetObject", "s3.amazonaws.com", access_key_id=key,
                                                 time=now - timedelta(seconds=30 * i + 1)) for i in range(events)],
                               region=REGION)
        return key

    def run(self, label: str, event: dict, fail: tuple | None = None) -> dict:
        sfn = self.cloud.client("stepfunctions", REGION)
        before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=self.machine)["executions"]}
        if fail:
            self.cloud.inject_error(*fail)
        self.cloud.metrics.reset()
        self.cloud.start(self.machine, event)
        self.cloud.run_until_idle()
        self.cloud.clear_errors()
        (arn,) = [e["executionArn"] for e in sfn.list_executions(stateMachineArn=self.machine)["executions"]
                  if e["executionArn"] not in before]
        execution = self.cloud.execution(arn)
        calls = {k: v for k, v in self.cloud.metrics.api_calls.items() if not k.startswith("lambda.")}
        return {"label": label, "status": execution["status"], "transitions": state_transitions(execution),
                "history": len(execution["history"]), "lambda": sum(self.cloud.metrics.lambda_invocations.values()),
                "calls": calls, "total": sum(calls.values())}


def measure(config: dict, cases) -> list[dict]:
    with LocalCloud() as cloud:
        dep = cloud.deploy("primary", config={"opsflows:credentialResponse": config})
        bench = Bench(cloud, dep.outputs["credentialResponseStateMachineArn"])
        return [case(bench) for case in cases]


QUOTA_SCALE = "0.01"


def quota_run(bench: Bench, label: str, keys: list[str], rate: str) -> dict:
    """One Health event naming `keys`, the activity function allowed `rate` LookupEvents requests/s (0: unpaced)."""
    lam = bench.cloud.client("lambda", REGION)
    (fn,) = [f for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith("credentials-activity")]
    lam.update_function_configuration(FunctionName=fn["FunctionName"], Environment={
        "Variables": {**fn["Environment"]["Variables"], "LOOKUP_RATE": rate}})
    before, started = cloudtrail.lookup_stats(REGION), clock.elapsed()
    row = bench.run(label, health_event(*keys))
    after = cloudtrail.lookup_stats(REGION)
    return {**row, "requests": after["requests"] - before["requests"],
            "throttled": after["throttled"] - before["throttled"], "simulated": clock.elapsed() - started}


def measure_quota(events: int) -> list[dict]:
    saved = os.environ.get("LOCALCLOUD_TIME_SCALE")
    os.environ["LOCALCLOUD_TIME_SCALE"] = QUOTA_SCALE
    try:
        with LocalCloud() as cloud:
            dep = cloud.deploy("primary", config={"opsflows:credentialResponse": {"maxEvents": max(1000, events)}})
            bench = Bench(cloud, dep.outputs["credentialResponseStateMachineArn"])
            per_key = events // 4
            return [quota_run(bench, f"1 key, {events} events, paced (2/s)", [bench.key(events)], "2"),
                    quota_run(bench, f"1 key, {events} events, unpaced (backoff only)", [bench.key(events)], "0"),
                    quota_run(bench, f"4 keys x {per_key} events, paced (0.5/s each)",
                              [bench.key(per_key) for _ in range(4)], "2"),
                    quota_run(bench, f"4 keys x {per_key} events, unpaced", [bench.key(per_key) for _ in range(4)], "0")]
    finally:
        if saved is None:
            os.environ.pop("LOCALCLOUD_TIME_SCALE", None)
        else:
            os.environ["LOCALCLOUD_TIME_SCALE"] = saved


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, nargs="*", default=[0, 130, 1000],
                        help="CloudTrail events of the exposed key in the window")
    args = parser.parse_args()

    def one_key(n):
        return lambda b: b.run(f"1 key, {n} CloudTrail events", health_event(b.key(n)))

    def duplicate(b):
        event = health_event(b.key(10))
        b.run("(first delivery)", event)
        return b.run("1 key, same event again (duplicate)", event)

    cases = [one_key(n) for n in args.events] + [
        lambda b: b.run("2 keys (2 users), 10 events each", health_event(b.key(10), b.key(10))),
        duplicate,
        lambda b: b.run("1 key, key already deleted", health_event("AKIAIOSFODNN7EXAMPLE")),
        lambda b: b.run("1 key, UpdateAccessKey AccessDenied (FAILED)", health_event(b.key(10)),
                        fail=("iam", "UpdateAccessKey", "AccessDenied")),
    ]
    results = [("action deactivate (stack default)", measure({}, cases)),
               ("quarantine + revokeSessions on", measure({"quarantine": True, "revokeSessions": True}, cases[:1]))]

    print("Credential-exposure response - one AWS Health event (counted in the local cloud)")
    print(f"{'case':<46} {'status':<10} {'transitions':>11} {'history':>8} {'Lambda':>7} {'API calls':>10}  calls")
    ok = True
    for config, rows in results:
        print(f"-- {config}")
        for r in rows:
            print(f"{r['label']:<46} {r['status']:<10} {r['transitions']:>11} {r['history']:>8} {r['lambda']:>7} "
                  f"{r['total']:>10}  " + ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items())))
    for n, r in zip(args.events, results[0][1]):
        expected = max(1, -(-min(n, 1000) // PAGE))
        ok &= r["calls"].get("cloudtrail.LookupEvents") == expected
    print("LookupEvents calls = ceil(events/50) per key:", "yes" if ok else "NO")

    quota_events = max(args.events)
    print(f"\nLookupEvents quota (2 requests/s per account and Region), LOCALCLOUD_TIME_SCALE={QUOTA_SCALE}")
    print(f"{'case':<46} {'status':<10} {'pages':>6} {'requests':>9} {'throttled':>10} {'simulated s':>12}")
    quota = measure_quota(quota_events)
    for r in quota:
        print(f"{r['label']:<46} {r['status']:<10} {quota_events // 50:>6} {r['requests']:>9} {r['throttled']:>10} "
              f"{r['simulated']:>12.1f}")
    paced = quota[0]
    ok &= paced["status"] == "SUCCEEDED" and paced["throttled"] == 0 and paced["requests"] == -(-quota_events // 50)
    print("paced summary of", quota_events, "events: every page once, none throttled:", "yes" if ok else "NO")
    print("(the local cloud runs Lambda invocations one at a time: four keys never contend here, so their shared "
          "pace only costs time; in AWS they run together and unpaced would ask up to 8 requests/s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
