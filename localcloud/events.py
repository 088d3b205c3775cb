"""Event delivery the local cloud adds to moto's EventBridge.

- moto matches rule patterns but delivers to no Step Functions target: here a matching rule's state-machine
  target starts an execution with the event (or the target's Input / InputPath), as AWS does through the
  target's role.
- AWS services' own events are never emitted by moto: `emit_ebs_snapshot` puts an EBS Snapshot Notification
  on the region's default bus (called by patches.ebs_snapshots), and `emit` puts any event (AWS Health, ...).
"""
from __future__ import annotations

import datetime
import json
import uuid

from moto.events.models import Rule, events_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from moto.utilities.arns import parse_arn

_installed = False
DELIVERED: list[dict] = []        # (rule, target, execution) for every delivery, newest last


def install() -> None:
    global _installed
    if _installed:
        return
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: dict, transform_input: bool = True) -> None:
        ours = [t for t in self.targets if _is_state_machine(t["Arn"])]
        others = [t for t in self.targets if not _is_state_machine(t["Arn"])]
        if others:                      # moto's own delivery (SQS, logs, buses, ...) for the other targets
            targets, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = targets
        if ours and self.event_pattern.matches_event(original_event):
            for target in ours:
                _start(self, target, original_event)

    Rule.send_to_targets = send_to_targets
    _installed = True


def _is_state_machine(arn: str) -> bool:
    parsed = parse_arn(arn)
    return parsed.service == "states" and parsed.resource_type == "stateMachine"


def _start(rule: Rule, target: dict, event: dict) -> None:
    if "Input" in target:
        payload = target["Input"]
    elif "InputPath" in target:
        from jsonpath_ng import parse  # moto's own dependency
        found = [m.value for m in parse(target["InputPath"]).find(event)]
        payload = json.dumps(found[0] if found else None)
    else:
        payload = json.dumps(_as_delivered(event), default=str)
    arn = parse_arn(target["Arn"])
    backend = stepfunctions_parser_backends[arn.account][arn.region]
    execution = backend.start_execution(target["Arn"], str(uuid.uuid4()), payload)
    DELIVERED.append({"rule": rule.name, "target": target["Arn"], "execution": execution.execution_arn})


def _as_delivered(event: dict) -> dict:
    """moto keeps `time` as epoch seconds; EventBridge delivers it as ISO 8601 (2016-06-05T06:27:57Z)."""
    if isinstance(event.get("time"), (int, float)):
        when = datetime.datetime.fromtimestamp(event["time"], datetime.timezone.utc)
        event = {**event, "time": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return event


def emit(account: str, region: str, event: dict) -> list[dict]:
    """Put one event (EventBridge shape: source, detail-type, detail, resources) on the region's default bus."""
    entry = {"Source": event["source"], "DetailType": event["detail-type"],
             "Detail": json.dumps(event.get("detail", {})), "Resources": event.get("resources", [])}
    return events_backends[account][region].put_events([entry])


def emit_ebs_snapshot(account: str, region: str, kind: str, snapshot_id: str, *, source: str,
                      result: str = "succeeded", cause: str = "") -> None:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    snapshot_arn = f"arn:aws:ec2::{region}:snapshot/{snapshot_id}"   # as AWS writes it in these events
    emit(account, region, {
        "source": "aws.ec2", "detail-type": "EBS Snapshot Notification", "resources": [snapshot_arn],
        "detail": {"event": kind, "result": result, "cause": cause, "request-id": str(uuid.uuid4()),
                   "snapshot_id": snapshot_arn, "source": source, "startTime": now, "endTime": now},
    })
