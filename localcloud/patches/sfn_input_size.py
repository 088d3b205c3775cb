"""StartExecution input size: AWS refuses an execution input over 256 KiB (262,144 characters, the API's length
constraint on `input`) with a ValidationException, and no execution starts. moto starts it. This patch refuses
it as AWS does, so an oversized input never reaches a workflow here either (the caller sees the error, as in
AWS: there is no execution to alert from)."""
from __future__ import annotations

from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

MAX_INPUT = 262_144


class ValidationException(JsonRESTError):
    def __init__(self, length: int):
        super().__init__("ValidationException", "1 validation error detected: Value at 'input' failed to satisfy "
                         f"constraint: Member must have length less than or equal to {MAX_INPUT} (got {length})")


def apply() -> None:
    original = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        if execution_input is not None and len(execution_input) > MAX_INPUT:
            raise ValidationException(len(execution_input))
        return original(self, state_machine_arn, name, execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution
