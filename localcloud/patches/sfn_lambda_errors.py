"""Lambda service errors in a Lambda task, named as Step Functions names them.

AWS: when Step Functions' Invoke of a function is refused by the Lambda service (throttled, service error,
function not found, ...), the task fails with the error name `Lambda.<exception>`:
`Lambda.TooManyRequestsException`, `Lambda.ServiceException`, `Lambda.AWSLambdaException`,
`Lambda.ResourceNotFoundException`, ..., which is what a state's Retry names (AWS recommends retrying the
transient ones).
moto: any ClientError from the invoke becomes the error "Exception", so no Retry or Catch by name can match it.
Here the task's error carries the name AWS gives it.
"""
from __future__ import annotations

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails


def apply() -> None:
    original = StateTaskLambda._from_error

    def _from_error(self, env, ex: Exception) -> FailureEvent:
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        error = f"Lambda.{ex.response.get('Error', {}).get('Code', 'AWSLambdaException')}"
        cause = ex.response.get("Error", {}).get("Message", str(ex))
        return FailureEvent(env=env, error_name=CustomErrorName(error),
                            event_type=HistoryEventType.LambdaFunctionFailed,
                            event_details=EventDetails(lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                                error=error, cause=cause)))

    StateTaskLambda._from_error = _from_error
