"""The execution history quota: AWS ends an execution that reaches 25,000 history events as FAILED ("The
execution reached the maximum number of history events (25000)."), an error no Catch can route. moto records
any number of events, so a design that would break in AWS at scale would pass here. This patch fails the
execution with States.Runtime when it is about to write more than MAX_HISTORY_EVENTS events.

(The 256 KiB payload quota needs no patch: moto already fails a state whose output exceeds it with
States.DataLimitExceeded.)"""
from __future__ import annotations

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent, FailureEventException)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

MAX_HISTORY_EVENTS = 25_000
CAUSE = "The execution reached the maximum number of history events ({})."


def apply() -> None:
    original = CommonStateField._eval_body

    def _eval_body(self, env) -> None:
        if len(env.event_manager._history_event_list) >= MAX_HISTORY_EVENTS:
            error = StatesErrorNameType.StatesRuntime
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=StatesErrorName(typ=error), event_type=HistoryEventType.ExecutionFailed,
                event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                    error=error.to_name(), cause=CAUSE.format(MAX_HISTORY_EVENTS)))))
        return original(self, env)

    CommonStateField._eval_body = _eval_body
