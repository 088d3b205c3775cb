"""Amazon States Language -> a Mermaid flowchart (which GitHub renders), and the failure behaviour as rows.

Pure functions over the definition dict: what is drawn is exactly what the state machine runs.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

SHAPES = {"Task": '["{}"]', "Choice": '{{"{}"}}', "Succeed": '(["{}"])', "Fail": '[["{}"]]',
          "Pass": '>"{}"]', "Wait": '[/"{}"/]'}
COMPARATORS = {"Equals": "=", "GreaterThan": ">", "GreaterThanEquals": ">=", "LessThan": "<",
               "LessThanEquals": "<=", "Matches": "matches", "IsPresent": "present", "IsNull": "null",
               "IsBoolean": "is boolean", "IsNumeric": "is number", "IsString": "is string", "IsTimestamp": "is time"}


def task_label(resource: str, describe: Callable[[str], str], parameters: Mapping[str, Any] | None = None) -> str:
    """What a Task calls: `describe(arn)` for Lambda ARNs (e.g. the handler), the integration otherwise."""
    function = (parameters or {}).get("FunctionName")
    if resource.startswith("arn:aws:states:::lambda:invoke") and isinstance(function, str):
        waits = " (waits for its task token)" if resource.endswith(".waitForTaskToken") else ""
        return f"λ {describe(function)}{waits}"
    if resource.startswith("arn:aws:states:::"):
        return resource[len("arn:aws:states:::"):]
    if ":lambda:" in resource:
        return f"λ {describe(resource)}"
    return resource


def condition(rule: Mapping[str, Any]) -> str:
    """A short text for one Choice rule (JSONPath comparisons, And/Or/Not, or a JSONata Condition)."""
    if "Condition" in rule:
        return str(rule["Condition"])
    for combinator, joiner in (("And", " and "), ("Or", " or ")):
        if combinator in rule:
            return joiner.join(condition(r) for r in rule[combinator])
    if "Not" in rule:
        return f"not {condition(rule['Not'])}"
    for key, value in rule.items():
        if key in ("Variable", "Next"):
            continue
        op = next((symbol for name, symbol in COMPARATORS.items() if name in key), key)
        shown = json.dumps(value) if not key.endswith("Path") else value
        return f"{rule.get('Variable', '')} {op} {shown}".strip()
    return "?"


class Flowchart:
    def __init__(self, describe: Callable[[str], str]):
        self.describe, self.lines, self.ids, self.ended = describe, ["flowchart TD"], {}, False

    def node_id(self, scope: str, state: str) -> str:
        key = (scope, state)
        if key not in self.ids:
            self.ids[key] = f"s{len(self.ids)}"
        return self.ids[key]

    def edge(self, a: str, b: str, label: str = "", dashed: bool = False) -> None:
        arrow = "-.->" if dashed else "-->"
        text = f'|"{escape(label)}"|' if label else ""
        self.lines.append(f"    {a} {arrow}{text} {b}")

    def machine(self, definition: Mapping[str, Any], scope: str = "", end: str | None = None) -> str:
        """Draw the states of one (sub)machine; returns the id of its start state."""
        states = definition["States"]
        for name, state in states.items():
            sid = self.node_id(scope, name)
            kind = state["Type"]
            if kind in ("Parallel", "Map"):
                self.lines.append(f'    subgraph {sid} ["{escape(name)} ({kind})"]')
                self.lines.append("    direction TB")
                branches = state.get("Branches") or [state.get("ItemProcessor") or state.get("Iterator")]
                for i, branch in enumerate(branches):
                    if len(branches) > 1:        # each Parallel branch in its own box
                        self.lines += [f'    subgraph {sid}b{i} ["branch {i + 1}"]', "    direction TB"]
                    self.machine(branch, scope=f"{scope}/{name}/{i}")
                    if len(branches) > 1:
                        self.lines.append("    end")
                self.lines.append("    end")
            else:
                label = name if kind != "Task" else \
                    f"{name}<br/>{task_label(state['Resource'], self.describe, state.get('Parameters'))}"
                self.lines.append(f"    {sid}{SHAPES.get(kind, SHAPES['Task']).format(escape(label))}")
        for name, state in states.items():
            sid = self.node_id(scope, name)
            for rule in state.get("Choices", []):
                self.edge(sid, self.node_id(scope, rule["Next"]), condition(rule))
            if "Default" in state:
                self.edge(sid, self.node_id(scope, state["Default"]), "default")
            if "Next" in state:
                self.edge(sid, self.node_id(scope, state["Next"]))
            for catcher in state.get("Catch", []):
                self.edge(sid, self.node_id(scope, catcher["Next"]), ", ".join(catcher["ErrorEquals"]), dashed=True)
            if (state.get("End") or kind_is(state, "Succeed")) and end:
                self.edge(sid, end)
                self.ended = True
        return self.node_id(scope, definition["StartAt"])


def kind_is(state: Mapping[str, Any], kind: str) -> bool:
    return state.get("Type") == kind


def escape(text: str) -> str:
    return re.sub(r'["<>]', lambda m: {'"': "#quot;", "<": "#lt;", ">": "#gt;"}[m.group()],
                  text).replace("#lt;br/#gt;", "<br/>")


def flowchart(definition: Mapping[str, Any], describe: Callable[[str], str] = lambda arn: arn) -> str:
    chart = Flowchart(describe)
    chart.lines.append("    start((start))")
    first = chart.machine(definition, end="finish")
    if chart.ended:
        chart.lines.insert(2, "    finish((end))")
    chart.edge("start", first)
    return "\n".join(chart.lines)


def retries(definition: Mapping[str, Any], scope: str = "") -> list[dict]:
    """Every state's Retry and Catch, nested states included: rows for the failure-behaviour table."""
    rows = []
    for name, state in definition["States"].items():
        path = f"{scope}{name}"
        for retry in state.get("Retry", []):
            rows.append({"state": path, "errors": retry["ErrorEquals"], "then": (
                f"retry up to {retry.get('MaxAttempts', 3)}x, every {retry.get('IntervalSeconds', 1)}s "
                f"x{retry.get('BackoffRate', 2.0):g}" + (f" (max {retry['MaxDelaySeconds']}s)"
                                                          if "MaxDelaySeconds" in retry else ""))})
        for catcher in state.get("Catch", []):
            rows.append({"state": path, "errors": catcher["ErrorEquals"], "then": f"go to {catcher['Next']}"})
        if "TimeoutSeconds" in state:
            rows.append({"state": path, "errors": ["States.Timeout"],
                         "then": f"raised when the task runs longer than {state['TimeoutSeconds']}s"})
        for i, branch in enumerate(state.get("Branches") or [state.get("ItemProcessor") or state.get("Iterator")]
                                   if state["Type"] in ("Parallel", "Map") else []):
            rows.extend(retries(branch, scope=f"{path} / "))
    return rows
