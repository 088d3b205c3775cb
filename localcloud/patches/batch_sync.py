"""`arn:aws:states:::batch:submitJob.sync` as AWS runs it.

AWS: the state's Parameters are PascalCase (`JobName`, `ContainerOverrides.Command`, `Tags`, ...) and Step
Functions maps them onto Batch's camelCase API; the task's result (and, when the job fails, the error's Cause)
is the job's description in PascalCase (`JobId`, `Status`, `StatusReason`, ...).
moto: its interpreter (ported from LocalStack) has the case-mapping helpers but the Batch task never calls
them, so SubmitJob gets PascalCase keywords boto3 rejects, the submission is read as `JobId` (moto returns
`jobId`), and job descriptions stay camelCase. Here the Batch task normalises both ways with Batch's own
botocore service model, as LocalStack does.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore.session
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
    StateTaskServiceBatch,
)


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


def apply() -> None:
    StateTaskServiceBatch._normalise_parameters = _normalise_parameters
    StateTaskServiceBatch._normalise_response = _normalise_response
