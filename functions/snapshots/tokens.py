"""Answering the execution that waits for a DR copy slot (its CopyToDR task waits for a task token)."""
from __future__ import annotations

import json

from botocore.exceptions import ClientError

from common.aws import client
from common.errors import error_code

# The task is no longer waiting (it timed out, or its execution ended): nothing to answer.
GONE = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")


def succeed(token: str, output: dict) -> bool:
    try:
        client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(output, default=str))
        return True
    except ClientError as exc:
        if error_code(exc) in GONE:
            return False
        raise


def fail(token: str, error: str, cause: str) -> bool:
    try:
        client("stepfunctions").send_task_failure(taskToken=token, error=error[:256], cause=cause[:32768])
        return True
    except ClientError as exc:
        if error_code(exc) in GONE:
            return False
        raise
