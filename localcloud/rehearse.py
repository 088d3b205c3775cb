"""`python -m localcloud rehearse`: deploy the stack(s) into one in-memory AWS, play every scenario whose
stacks are deployed, print a readable trace (or a JSON report); exit 0 only if every scenario passed."""
from __future__ import annotations

import json
import sys
import traceback
from typing import Any

from .cloud import LocalCloud
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


def run(stacks: tuple[str, ...]) -> list[dict]:
    scenarios = load_all()
    reports = []
    with LocalCloud() as cloud:
        deployments = {}
        overrides: dict[str, dict] = {}
        for s in scenarios:                       # a scenario may need config (e.g. a bucket allowlist)
            for stack, config in s.config.items():
                overrides.setdefault(stack, {}).update(config)
        for stack in stacks:
            deployments[stack] = cloud.deploy(stack, overrides.get(stack))
        for s in scenarios:
            if s.needs[0] not in deployments or any(stack in deployments for stack in s.without):
                continue
            before = {e["arn"] for e in cloud.executions()}
            cloud.metrics.reset()
            play = Play(cloud, deployments)
            try:
                s.play(play)
                cloud.run_until_idle()
            except Exception as exc:  # noqa: BLE001 - a broken scenario is a failed one, reported
                play.check("scenario ran to the end", False, "".join(traceback.format_exception(exc))[-2000:])
            executions = [_execution_report(e) for e in cloud.executions() if e["arn"] not in before]
            reports.append({
                "name": s.name, "description": s.description,
                "passed": bool(play.checks) and all(c.passed for c in play.checks),
                "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in play.checks],
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
        for c in r["checks"]:
            print(f"   {'✓' if c['passed'] else '✗'} {c['name']}" + (f" — {c['detail']}" if c["detail"] else ""),
                  file=out)
    passed = sum(r["passed"] for r in reports)
    print(f"\n{passed} passed, {len(reports) - passed} failed", file=out)


def main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m localcloud rehearse", description=__doc__)
    parser.add_argument("--stack", choices=(*STACKS, "all"), default="all")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of the trace")
    args = parser.parse_args(argv)
    reports = run(STACKS if args.stack == "all" else (args.stack,))
    if args.json:
        print(json.dumps({"stacks": list(STACKS if args.stack == "all" else (args.stack,)),
                          "passed": all(r["passed"] for r in reports), "scenarios": reports}, indent=2, default=str))
    else:
        print_trace(reports)
    return 0 if reports and all(r["passed"] for r in reports) else 1
