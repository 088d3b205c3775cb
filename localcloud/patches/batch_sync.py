"""`arn:aws:states:::batch:submitJob.sync` as AWS runs it.

1. AWS: the state's Parameters are PascalCase (`JobName`, `ContainerOverrides.Command`, `Tags`, ...) and Step
Functions maps them onto Batch's camelCase API; the task's result (and, when the job fails, the error's Cause)
is the job's description in PascalCase (`JobId`, `Status`, `StatusReason`, ...).
moto: its interpreter (ported from LocalStack) has the case-mapping helpers but the Batch task never calls
them, so SubmitJob gets PascalCase keywords boto3 rejects, the submission is read as `JobId` (moto returns
`jobId`), and job descriptions stay camelCase. Here the Batch task normalises both ways with Batch's own
botocore service model, as LocalStack does.

2. AWS: Step Functions follows the job until it ends (Batch's job state events, DescribeJobs), and its own
throttled or failed status checks are its business: it checks again, the task neither fails nor submits the job
a second time. moto: the task polls DescribeJobs every half second of real time, and any error of a poll fails
the task, which the state's Retry would answer by submitting the job again. Here a poll throttled or answered
with a 5xx is polled again, and the wait between polls is simulated time on the local cloud's clock
(`clock.SLEPT["batch-sync-poll"]`).
"""
from __future__ import annotations

import types
from functools import lru_cache
from typing import Any, Callable

import botocore.session
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)

from .. import clock

POLL_SECONDS = 5.0            # simulated seconds between two status checks of a running job
RETRIED_POLLS = {"TooManyRequestsException", "ThrottlingException", "ServerException", "InternalError",
                 "ServiceUnavailable"}


@lru_cache(maxsize=None)
def _operation(action: str) -> Any:
    """Batch's botocore operation model for "submitJob" / "describe_jobs" / "SubmitJob"."""
    name = "".join(part[:1].upper() + part[1:] for part in action.split("_"))
    return botocore.session.get_session().get_service_model("batch").operation_model(name)


def _normalise_parameters(self: StateTaskServiceBatch, parameters: dict, boto_service_name: str | None = None,
                          service_action_name: str | None = None) -> None:
    self._to_boto_request(parameters, _operation(service_action_name or self.resource.api_action).input_shape)


def _normalise_response(self: StateTaskServiceBatch, response: Any, boto_service_name: str | None = None,
                        service_action_name: str | None = None) -> None:
    self._from_boto_response(response, _operation(service_action_name or self.resource.api_action).output_shape)


def _polled_again_on_throttling(resolver: Callable[[], Any]) -> Callable[[], Any]:
    def poll() -> Any:
        try:
            return resolver()
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            if exc.response.get("Error", {}).get("Code") in RETRIED_POLLS or status >= 500 or status == 429:
                return None                   # not ended yet, as far as we know: check again after the wait
            raise
    return poll


def apply() -> None:
    StateTaskServiceBatch._normalise_parameters = _normalise_parameters
    StateTaskServiceBatch._normalise_response = _normalise_response
    build = StateTaskServiceBatch._build_sync_resolver

    def _build_sync_resolver(self, *args: Any, **kwargs: Any) -> Callable[[], Any] | None:
        resolver = build(self, *args, **kwargs)
        return None if resolver is None else _polled_again_on_throttling(resolver)

    StateTaskServiceBatch._build_sync_resolver = _build_sync_resolver
    state_task_service_callback.time = types.SimpleNamespace(
        sleep=lambda seconds: clock.sleep(POLL_SECONDS, "batch-sync-poll"))
