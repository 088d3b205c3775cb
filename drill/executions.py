"""Step Functions executions as the drill sees them: started by name, or found by what their input names."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from .context import Drill

FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
CLOCK_SKEW = timedelta(minutes=5)          # executions started this long before the drill's clock are looked at


def _sfn(drill: Drill, arn: str) -> Any:
    return drill.client("stepfunctions", arn.split(":")[3])


def start(drill: Drill, machine_arn: str, name: str, payload: Any) -> str:
    return _sfn(drill, machine_arn).start_execution(stateMachineArn=machine_arn, name=name,
                                                    input=json.dumps(payload))["executionArn"]


def finished(drill: Drill, execution_arn: str) -> dict | None:
    """DescribeExecution once the execution has ended, or None if it still runs at the deadline."""
    sfn = _sfn(drill, execution_arn)
    return drill.until(lambda: (lambda d: d if d["status"] in FINAL else None)(
        sfn.describe_execution(executionArn=execution_arn)))


class Finder:
    """Finds the execution an event started (EventBridge names it, not the drill) by a string in its input,
    among the executions started since the drill began, each described once."""

    def __init__(self, drill: Drill, machine_arn: str):
        self.drill, self.machine_arn = drill, machine_arn
        self.sfn = _sfn(drill, machine_arn)
        self._seen: dict[str, str] = {}            # execution ARN -> input

    def _look(self, needle: str) -> dict | None:
        since = self.drill.started - CLOCK_SKEW
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.machine_arn):
            recent = [e for e in page["executions"] if e["startDate"] >= since]
            for e in recent:
                if e["executionArn"] not in self._seen:
                    described = self.sfn.describe_execution(executionArn=e["executionArn"])
                    self._seen[e["executionArn"]] = described.get("input") or ""
                if needle in self._seen[e["executionArn"]]:
                    return {"executionArn": e["executionArn"], "name": e["name"]}
            if page["executions"] and not recent:
                break                              # newest first: the rest is older still
        return None

    def find(self, needle: str) -> dict | None:
        return self.drill.until(lambda: self._look(needle))


def summary(described: dict) -> str:
    text = f"{described['status']} ({described.get('name') or described['executionArn'].rsplit(':', 1)[-1]})"
    if described.get("error") or described.get("cause"):
        text += f": {described.get('error')}: {str(described.get('cause'))[:300]}"
    return text


def output(described: dict) -> dict:
    try:
        value = json.loads(described.get("output") or "null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
