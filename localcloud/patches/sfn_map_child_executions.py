"""Distributed Map children are executions of their own.

AWS: each item of a Distributed Map runs as a child execution (ARN `...:execution:<machine>/<map run>:<name>`)
with its own context object (`$$.Execution.Id/Name/Input/StartTime` are the child's; the ItemSelector is
evaluated in the parent's context before the child starts) and its own history, ExecutionStarted to
ExecutionSucceeded/Failed, counted against the 25,000-event limit separately from the parent's. The Map Run
knows every child's status, input, output or error and cause, and dates, which is what its ResultWriter exports.
moto: a child is a frame of the parent's evaluation: `$$.Execution` is the parent's, all children of a Map Run
write into one shared event list that is then thrown away, and nothing records what each child did.

Here each child gets its ARN and name, its context object and a history of its own (started and ended like an
execution's). When it ends, a record of it (the fields a ResultWriter writes, plus its history's length, the
states it entered and its largest input/output) is kept on the Map Run and by the parent execution's ARN:
`children(parent_execution_arn)` returns them (tests and bench measure child histories with it).
"""
from __future__ import annotations

import datetime
import json
import threading
import uuid
from typing import Any

from moto.stepfunctions.parser.api import (ExecutionFailedEventDetails, ExecutionStartedEventDetails,
                                           ExecutionSucceededEventDetails, HistoryEventType)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
    DistributedItemProcessorWorker)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped, ProgramTimedOut
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

_LOCK = threading.Lock()
_BY_PARENT: dict[str, list[dict]] = {}


def children(parent_execution_arn: str) -> list[dict]:
    """The child executions of every Distributed Map the execution ran, in the order they ended."""
    with _LOCK:
        return list(_BY_PARENT.get(parent_execution_arn, []))


def clear() -> None:
    with _LOCK:
        _BY_PARENT.clear()


def of_map_run(record: Any) -> list[dict]:
    with _LOCK:
        return list(getattr(record, "_localcloud_children", []))


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.timezone.utc)


def _start(worker: DistributedItemProcessorWorker, env: Any) -> None:
    record = worker._map_run_record
    name = str(uuid.uuid4())
    arn = f"{record.map_state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
    child_input = env.states.get_input()
    parent = env.states.context_object.context_object_data["Execution"]
    started = _now()
    env.states.context_object.context_object_data["Execution"] = {
        "Id": arn, "Name": name, "Input": child_input, "StartTime": started.isoformat(timespec="milliseconds"),
        "RoleArn": parent.get("RoleArn"), "RedriveCount": 0}
    env.states.context_object.context_object_data["StateMachine"] = {
        "Id": record.map_state_machine_arn, "Name": record.map_state_machine_arn.rsplit(":", 1)[-1]}
    env.event_manager = EventManager()
    env.event_manager.add_event(context=EventHistoryContext.of_program_start(),
                                event_type=HistoryEventType.ExecutionStarted,
                                event_details=EventDetails(executionStartedEventDetails=ExecutionStartedEventDetails(
                                    input=to_json_str(child_input), roleArn=parent.get("RoleArn") or "")))
    env._localcloud_child = {"ExecutionArn": arn, "Name": name, "StateMachineArn": record.map_state_machine_arn,
                             "MapRunArn": record.map_run_arn, "Input": to_json_str(child_input), "StartDate": started}


def _end(worker: DistributedItemProcessorWorker, env: Any, job: Any) -> None:
    child = getattr(env, "_localcloud_child", None)
    if child is None:
        return
    state = env.program_state()
    context = EventHistoryContext.of_program_start()
    if isinstance(state, (ProgramError, ProgramStopped, ProgramTimedOut)) or job.job_output is None:
        error = state.error if isinstance(state, ProgramError) else None
        child.update(Status="ABORTED" if isinstance(state, ProgramStopped) else
                     "TIMED_OUT" if isinstance(state, ProgramTimedOut) else "FAILED",
                     Error=(error or {}).get("error"), Cause=(error or {}).get("cause"))
        env.event_manager.add_event(context=context, event_type=HistoryEventType.ExecutionFailed,
                                    event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                                        error=child["Error"] or "", cause=child["Cause"] or "")))
    else:
        child.update(Status="SUCCEEDED", Output=to_json_str(job.job_output))
        env.event_manager.add_event(context=context, event_type=HistoryEventType.ExecutionSucceeded,
                                    event_details=EventDetails(executionSucceededEventDetails=(
                                        ExecutionSucceededEventDetails(output=child["Output"]))))
    child["StopDate"] = _now()
    events = env.event_manager._history_event_list          # read once, at its end (no copy)
    child["historyEvents"] = len(events)
    child["states"] = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    child["largestPayload"] = max((len(v.encode()) for e in events for d in e.values() if isinstance(d, dict)
                                   for k, v in d.items() if k in ("input", "output") and isinstance(v, str)),
                                  default=0)
    record = worker._map_run_record
    with _LOCK:
        if not hasattr(record, "_localcloud_children"):
            record._localcloud_children = []
        record._localcloud_children.append(child)
        _BY_PARENT.setdefault(record.execution_arn, []).append(child)


def apply() -> None:
    eval_input, eval_job = DistributedItemProcessorWorker._eval_input, DistributedItemProcessorWorker._eval_job

    def _eval_input(self: DistributedItemProcessorWorker, env_frame: Any) -> None:
        eval_input(self, env_frame)             # the ItemSelector, in the parent's context
        _start(self, env_frame)

    def _eval_job(self: DistributedItemProcessorWorker, env: Any, job: Any) -> None:
        try:
            eval_job(self, env, job)
        finally:
            _end(self, env, job)

    DistributedItemProcessorWorker._eval_input = _eval_input
    DistributedItemProcessorWorker._eval_job = _eval_job


def describe(child: dict) -> dict:
    """A child record as JSON-friendly data (dates as ISO text)."""
    return json.loads(json.dumps(child, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))
