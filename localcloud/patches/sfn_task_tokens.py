"""SendTaskSuccess / SendTaskFailure while other executions are starting.

AWS: a task token is answered whatever else the account's state machines are doing.
moto: it looks for the token in every execution's evaluation environment, and an execution that has just been
started has none yet (`exec_worker.env` is None): the call fails with an AttributeError (a 500) whenever some
execution is starting at that moment, which a burst makes likely. Here such executions are passed over (they
cannot hold the token: their first task has not run).
"""
from __future__ import annotations

from moto.stepfunctions.parser.api import (
    ExecutionStatus, InvalidToken, SendTaskFailureOutput, SendTaskSuccessOutput, TaskDoesNotExist, TaskTimedOut,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout, CallbackNotifyConsumerError, CallbackOutcomeFailure, CallbackOutcomeSuccess,
)
from moto.stepfunctions.parser.models import StepFunctionsParserBackend


def _notify(backend: StepFunctionsParserBackend, token: str, outcome, status) -> bool:
    for execution in backend._get_executions(status) if status else backend._get_executions():
        env = getattr(getattr(execution, "exec_worker", None), "env", None)
        if env is None:
            continue
        try:
            if env.callback_pool_manager.notify(callback_id=token, outcome=outcome):
                return True
        except CallbackNotifyConsumerError as consumer_error:
            raise TaskTimedOut() if isinstance(consumer_error, CallbackConsumerTimeout) else TaskDoesNotExist()
    raise InvalidToken()


def apply() -> None:
    def send_task_success(self, task_token, outcome):
        _notify(self, task_token, CallbackOutcomeSuccess(callback_id=task_token, output=outcome),
                ExecutionStatus.RUNNING)
        return SendTaskSuccessOutput()

    def send_task_failure(self, task_token, error=None, cause=None):
        _notify(self, task_token, CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause), None)
        return SendTaskFailureOutput()

    StepFunctionsParserBackend.send_task_success = send_task_success
    StepFunctionsParserBackend.send_task_failure = send_task_failure
