"""Fail states: AWS ends the execution with whatever error name an ErrorPath resolves to, including the
States.* names a Catch caught and passes on (States.TaskFailed, States.ExceedToleratedFailureThreshold, ...).
moto builds a "custom" error name from the value, which refuses the States. prefix, so the execution fails
with States.Runtime instead of the caught error. This patch accepts the resolved value, as AWS does."""
from __future__ import annotations

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent, FailureEventException)
from moto.stepfunctions.parser.asl.component.state.fail.state_fail import StateFail
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails


class _ResolvedErrorName(ErrorName):
    """An error name resolved at run time from the state's data (may be a States.* name)."""


def apply() -> None:
    def _eval_state(self: StateFail, env) -> None:          # moto's body, with the error name accepted as is
        details = TaskFailedEventDetails()
        error_value = None
        if self.error:
            self.error.eval(env=env)
            error_value = env.stack.pop()
            details["error"] = error_value
        if self.cause:
            self.cause.eval(env=env)
            details["cause"] = env.stack.pop()
        error_name = None
        if error_value:
            error_name = (_ResolvedErrorName(error_value) if str(error_value).startswith("States.")
                          else CustomErrorName(error_value))
        raise FailureEventException(failure_event=FailureEvent(
            env=env, error_name=error_name, event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=details)))

    StateFail._eval_state = _eval_state
