"""Rules every workflow keeps under any fault, checked over what a run left behind (executions, alerts).

One alert per failure: every alert names an execution (its ARN is in the message or the attributes), that
execution ended FAILED, and no execution is named by two alerts. Every FAILED execution is named by an alert,
or failed because an execution it started failed and alerted (a bucket-sync continuation alerts for itself;
its parent ends FAILED as it did, with the child's ARN in its cause). No alert for a run that succeeded,
except from a workflow whose every run reports (the credential response alerts security either way): there,
exactly one alert per run, whatever its status.
"""
from __future__ import annotations

import re
from typing import Iterable

# Stack outputs naming state machines whose every execution publishes one report.
REPORTING_OUTPUTS = ("credentialResponseStateMachineArn",)
EXECUTION_ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_.:/-]+[A-Za-z0-9_-]")


def named_executions(alert: dict) -> set[str]:
    text = " ".join([alert.get("message") or "", *map(str, (alert.get("attributes") or {}).values())])
    return set(EXECUTION_ARN.findall(text))


def alert_problems(executions: Iterable[dict], alerts: Iterable[dict], reporting: Iterable[str] = ()) -> list[str]:
    """What breaks "one alert per failure, none on success" among these executions and alerts (`reporting`:
    ARNs of state machines that alert on every run)."""
    reporting = set(reporting)
    executions, alerts = list(executions), list(alerts)
    by_arn = {e["arn"]: e for e in executions}
    problems: list[str] = []
    alerted: dict[str, int] = {}
    for alert in alerts:
        named = {arn for arn in named_executions(alert) if arn in by_arn}
        if not named:
            problems.append(f"an alert names none of the run's executions: {(alert.get('subject') or '')!r} "
                            f"{(alert.get('message') or '')[:200]!r}")
            continue
        for arn in named:
            alerted[arn] = alerted.get(arn, 0) + 1
            if by_arn[arn]["status"] != "FAILED" and by_arn[arn]["stateMachineArn"] not in reporting:
                problems.append(f"an alert names {arn.rsplit(':', 1)[-1]}, which ended {by_arn[arn]['status']}")
    for arn, count in alerted.items():
        if count > 1:
            problems.append(f"{count} alerts for one failure of {arn.rsplit(':', 1)[-1]}")

    def covered(execution: dict, seen: frozenset = frozenset()) -> bool:
        if alerted.get(execution["arn"]):
            return True
        cause = f"{execution.get('cause') or ''} {execution.get('error') or ''}"
        children = [by_arn[a] for a in EXECUTION_ARN.findall(cause) if a in by_arn and a not in seen
                    and a != execution["arn"]]
        return any(c["status"] == "FAILED" and covered(c, seen | {execution["arn"]}) for c in children)

    for execution in executions:
        if execution["stateMachineArn"] in reporting and not alerted.get(execution["arn"]):
            problems.append(f"{execution['arn'].rsplit(':', 1)[-1]} ended {execution['status']} without its report")
        elif execution["status"] == "FAILED" and not covered(execution):
            problems.append(f"{execution['arn'].rsplit(':', 1)[-1]} ended FAILED ({execution.get('error')}) "
                            "with no alert")
        elif execution["status"] not in ("SUCCEEDED", "FAILED"):
            problems.append(f"{execution['arn'].rsplit(':', 1)[-1]} ended {execution['status']}")
    return problems
