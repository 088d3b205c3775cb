"""The states:startExecution integration (.sync, .sync:2): AWS takes the API's PascalCase parameters
(StateMachineArn, Input, Name) and answers in PascalCase (ExecutionArn, StartDate; for .sync:2 also Status,
Output, ...; dates as epoch milliseconds). moto hands the PascalCase parameters to boto3, whose StartExecution
wants camelCase, so every such task fails with States.Runtime ('StateMachineArn'); and it passes boto3's
camelCase answers on. This patch converts both ways, as AWS's integration does."""
from __future__ import annotations

import datetime
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn)

_TO_BOTO = {"StateMachineArn": "stateMachineArn", "Input": "input", "Name": "name", "TraceHeader": "traceHeader"}


def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:]): _pascal(v) if k not in ("input", "output") else v for k, v in value.items()}
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


def apply() -> None:
    original_parameters = StateTaskServiceSfn._normalise_parameters
    original_eval = StateTaskServiceSfn._eval_service_task

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None) -> None:
        original_parameters(self, parameters, boto_service_name, service_action_name)
        if service_action_name is None and self._get_boto_service_action() == "start_execution":
            for pascal, camel in _TO_BOTO.items():
                if pascal in parameters:
                    parameters[camel] = parameters.pop(pascal)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None) -> None:
        if isinstance(response, dict):
            converted = _pascal(response)
            response.clear()
            response.update(converted)

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        original_eval(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        if self._get_boto_service_action() == "start_execution":
            _normalise_response(self, env.stack[-1])

    StateTaskServiceSfn._normalise_parameters = _normalise_parameters
    StateTaskServiceSfn._normalise_response = _normalise_response
    StateTaskServiceSfn._eval_service_task = _eval_service_task
