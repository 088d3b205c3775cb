"""`python -m localcloud rehearse`: deploy the stack(s) into one in-memory AWS, play every scenario whose
stacks are deployed, print a readable trace (or a JSON report); exit 0 only if every scenario passed.

With `--fault SERVICE.Operation[@match]=ErrorCode[:count|:rate=R]` (repeatable; see localcloud.faults) the
faults are in force from the first scenario on, and a scenario passes when no rule breaks: its invariants hold,
every failed execution published exactly one alert and no succeeded one did. Its checks are reported; a
permanent fault may fail them."""
from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from .cloud import LocalCloud
from .faults import Fault, FaultSpecError
from .rules import REPORTING_OUTPUTS, alert_problems
from .scenarios import Play, load_all

STACKS = ("primary", "dr")


def state_transitions(execution: dict) -> int:
    """What AWS bills for a standard workflow: one per state entered."""
    return len(execution["states"])


def _execution_report(execution: dict) -> dict:
    duration = None
    if execution.get("startDate") and execution.get("stopDate"):
        duration = round((execution["stopDate"] - execution["startDate"]).total_seconds() * 1000)
    return {"stateMachine": execution["stateMachineArn"].split(":")[-1], "execution": execution["arn"],
            "status": execution["status"], "stateTransitions": state_transitions(execution),
            "states": execution["states"], "durationMs": duration, "error": execution.get("error")}


def _fault_counts(cloud: LocalCloud) -> dict[str, tuple[int, int]]:
    return {r["fault"]: (r["injected"], r["retried"]) for r in cloud.faults.report()}


def run(stacks: tuple[str, ...], faults: tuple[str, ...] = (), seed: int = 0) -> list[dict]:
    scenarios = load_all()
    reports = []
    with LocalCloud(seed=seed) as cloud:
        deployments = {}
        overrides: dict[str, dict] = {}
        for s in scenarios:                       # a scenario may need config (e.g. a bucket allowlist)
            for stack, config in s.config.items():
                overrides.setdefault(stack, {}).update(config)
        for stack in stacks:
            deployments[stack] = cloud.deploy(stack, overrides.get(stack))
        cloud.inject(*faults)
        reporting = {d.outputs[o] for d in deployments.values() for o in REPORTING_OUTPUTS if o in d.outputs}
        for s in scenarios:
            if s.needs[0] not in deployments or any(stack in deployments for stack in s.without):
                continue
            before = {e["arn"] for e in cloud.executions()}
            alerts_before, faults_before = len(cloud.alerts()), _fault_counts(cloud)
            cloud.metrics.reset()
            play = Play(cloud, deployments)
            ran = True
            try:
                s.play(play)
                cloud.run_until_idle()
            except Exception as exc:  # noqa: BLE001 - a broken scenario is a failed one, reported
                ran = False
                play.check("scenario ran to the end", False, "".join(traceback.format_exception(exc))[-2000:])
            finished = [e for e in cloud.executions() if e["arn"] not in before]
            executions = [_execution_report(e) for e in finished]
            alerts = cloud.alerts()[alerts_before:]
            violations = [f"{c.name}: {c.detail}" for c in play.invariants if not c.passed]
            violations += alert_problems(finished, alerts, reporting)
            counts = _fault_counts(cloud)
            injected = {f: (n - faults_before.get(f, (0, 0))[0], r - faults_before.get(f, (0, 0))[1])
                        for f, (n, r) in counts.items()}
            checks_pass = bool(play.checks) and all(c.passed for c in play.checks)
            reports.append({
                "name": s.name, "description": s.description,
                "passed": ran and not violations and (checks_pass or (bool(faults) and bool(play.checks))),
                "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in play.checks],
                "invariants": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in play.invariants],
                "faults": {"injected": {f: n for f, (n, _) in injected.items() if n},
                           "retried": {f: r for f, (n, r) in injected.items() if n},
                           "alerts": len(alerts), "violations": violations},
                "executions": executions,
                "apiCalls": dict(sorted(cloud.metrics.api_calls.items())),
                "lambdaInvocations": sum(cloud.metrics.lambda_invocations.values()),
                "state": play.state_lines,
            })
    return reports


def print_trace(reports: list[dict], out: Any = sys.stdout) -> None:
    for r in reports:
        print(f"\n== {r['name']}: {'PASSED' if r['passed'] else 'FAILED'} — {r['description']}", file=out)
        print("   executions:", file=out)
        for e in r["executions"]:
            print(f"   - {e['stateMachine']}  {e['status']:<9} {e['durationMs']} ms  "
                  f"{e['stateTransitions']} transitions: {' → '.join(e['states'])}"
                  + (f"  [{e['error']}]" if e["error"] else ""), file=out)
        print("   AWS state:", file=out)
        for line in r["state"]:
            print(f"   - {line}", file=out)
        calls = ", ".join(f"{k} {v}" for k, v in r["apiCalls"].items())
        print(f"   cost: {sum(r['apiCalls'].values())} API calls ({calls}); "
              f"{r['lambdaInvocations']} Lambda invocations", file=out)
        print("   checks:", file=out)
        for c in [*r["checks"], *r["invariants"]]:
            print(f"   {'✓' if c['passed'] else '✗'} {c['name']}" + (f" — {c['detail']}" if c["detail"] else ""),
                  file=out)
        f = r["faults"]
        if f["injected"] or f["violations"]:
            print(f"   faults: injected {f['injected'] or 'none'}; retried {f['retried'] or 'none'}; "
                  f"{f['alerts']} alert(s); {len(f['violations'])} violation(s)", file=out)
            for v in f["violations"]:
                print(f"   ✗ {v}", file=out)
    passed = sum(r["passed"] for r in reports)
    print(f"\n{passed} passed, {len(reports) - passed} failed", file=out)


def main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m localcloud rehearse", description=__doc__)
    parser.add_argument("--stack", choices=(*STACKS, "all"), default="all")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of the trace")
    parser.add_argument("--fault", action="append", default=[], metavar="SERVICE.Operation=ErrorCode[:count|:rate=R]",
                        help="inject an AWS fault (repeatable), e.g. ec2.CopySnapshot=ResourceLimitExceeded:2")
    parser.add_argument("--seed", type=int, default=0, help="which calls a rate fault hits (reproducible)")
    args = parser.parse_args(argv)
    try:
        for spec in args.fault:
            Fault.parse(spec)
    except FaultSpecError as exc:
        parser.error(str(exc))
    stacks = STACKS if args.stack == "all" else (args.stack,)
    out = sys.stdout
    sys.stdout = sys.stderr          # handlers' logs (Lambda's stdout goes to CloudWatch Logs) never mix in
    try:
        reports = run(stacks, tuple(args.fault), args.seed)
    finally:
        sys.stdout = out
    if args.json:
        print(json.dumps({"stacks": list(stacks), "passed": all(r["passed"] for r in reports),
                          "faults": _faults_summary(reports, args.fault, args.seed), "scenarios": reports},
                         indent=2, default=str))
    else:
        print_trace(reports)
    return 0 if reports and all(r["passed"] for r in reports) else 1


def _faults_summary(reports: list[dict], specs: list[str], seed: int) -> dict:
    injected: dict[str, int] = {}
    retried: dict[str, int] = {}
    for r in reports:
        for f, n in r["faults"]["injected"].items():
            injected[f] = injected.get(f, 0) + n
        for f, n in r["faults"]["retried"].items():
            retried[f] = retried.get(f, 0) + n
    return {"specs": specs, "seed": seed, "injected": injected, "retried": retried,
            "alerts": sum(r["faults"]["alerts"] for r in reports),
            "violations": [f"{r['name']}: {v}" for r in reports for v in r["faults"]["violations"]]}
