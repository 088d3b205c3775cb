"""StartExecution without a name: AWS generates a unique one; moto names every such execution "None", so
a second one collides with ExecutionAlreadyExists. (EventBridge targets never pass a name.)"""
from __future__ import annotations

import uuid

from moto.stepfunctions.parser.models import StepFunctionsParserBackend


def apply() -> None:
    original = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution
