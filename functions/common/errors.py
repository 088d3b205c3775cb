"""Errors a state machine can Catch and Retry by name.

A Lambda's error name in Step Functions is the exception's class name. AWS errors (botocore ClientError)
are re-raised as `AwsError` subclasses named after the AWS error code (`RequestLimitExceeded`,
`UnauthorizedOperation`, `AccessDenied`, ...), so `ErrorEquals` can name them.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from botocore.exceptions import ClientError


class OpsflowsError(Exception):
    """Base of the errors opsflows raises on purpose."""


class InvalidInput(OpsflowsError, ValueError):
    """The event or execution input is not something this workflow can act on."""


class AwsError(OpsflowsError):
    """An AWS API error; the subclass is named after the AWS error code."""

    code = "AwsError"


_BY_CODE: dict[str, type[AwsError]] = {}


def aws_error(code: str) -> type[AwsError]:
    """The AwsError subclass for an AWS error code (one class per code)."""
    name = "".join(ch for ch in code.replace(".", "") if ch.isalnum()) or "AwsError"
    if name not in _BY_CODE:
        _BY_CODE[name] = type(name, (AwsError,), {"code": code, "__module__": __name__})
    return _BY_CODE[name]


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "Unknown")


def named_aws_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Re-raise botocore ClientErrors from `fn` as AwsError subclasses named after their code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = error_code(exc)
            raise aws_error(code)(f"{code}: {exc.response.get('Error', {}).get('Message', str(exc))}") from exc

    return wrapper
