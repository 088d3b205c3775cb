"""Step Functions quotas the local cloud enforces as AWS does: the history-event limit ends an execution FAILED
(no Catch can route it), and a state output over 256 KiB fails with States.DataLimitExceeded."""
from __future__ import annotations

import json

from localcloud.patches import sfn_history_limit

LOOP = {"StartAt": "Count", "States": {
    "Count": {"Type": "Pass", "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "BooleanEquals": True, "Next": "Done"}],
              "Default": "Count"},
    "Done": {"Type": "Succeed"}}}
BIG = {"StartAt": "Big", "States": {"Big": {
    "Type": "Pass", "Parameters": {"once.$": "$.blob", "twice.$": "$.blob"}, "End": True,
    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}, "Caught": {"Type": "Succeed"}}}


def machine(cloud, name: str, definition: dict) -> str:
    sfn = cloud.client("stepfunctions")
    return sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                    roleArn="arn:aws:iam::123456789012:role/quota-test")["stateMachineArn"]


def test_an_execution_past_the_history_limit_fails(cloud, monkeypatch):
    monkeypatch.setattr(sfn_history_limit, "MAX_HISTORY_EVENTS", 60)
    arn = cloud.start(machine(cloud, "loop", LOOP), {"stop": False})
    cloud.run_until_idle()
    execution = cloud.execution(arn)
    assert execution["status"] == "FAILED" and execution["error"] == "States.Runtime"
    assert "maximum number of history events (60)" in execution["cause"]
    assert 55 <= len(execution["history"]) <= 64


def test_a_state_output_over_256_kib_fails_the_execution(cloud):
    arn = cloud.start(machine(cloud, "big", BIG), {"blob": "x" * 150_000})     # the input fits, the output not
    cloud.run_until_idle()
    execution = cloud.execution(arn)
    assert execution["status"] == "FAILED" and execution["error"] == "States.DataLimitExceeded"   # uncatchable


def test_an_input_over_256_kib_is_refused_and_starts_nothing(cloud):
    import pytest
    from botocore.exceptions import ClientError
    arn = machine(cloud, "loop", LOOP)
    with pytest.raises(ClientError, match="ValidationException"):
        cloud.start(arn, {"blob": "x" * 262_144})
    assert cloud.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"] == []
