"""The handler adapter every opsflows Lambda uses: structured logs, named AWS errors, JSON in and out."""
from __future__ import annotations

import functools
from typing import Any, Callable

from aws_lambda_powertools import Logger

from .errors import named_aws_errors

logger = Logger()


def lambda_handler(fn: Callable[[dict, Any], dict]) -> Callable[[dict, Any], dict]:
    """Wrap a handler: log the event with the request context; AWS errors leave as named exceptions."""
    named = named_aws_errors(fn)

    @functools.wraps(fn)
    def handler(event: dict, context: Any = None) -> dict:
        if context is not None and hasattr(context, "aws_request_id"):
            logger.append_keys(request_id=context.aws_request_id)
        logger.info("event", extra={"event": event})
        try:
            result = named(event, context)
        except Exception as exc:
            logger.error("failed", extra={"error": type(exc).__name__, "reason": str(exc)})
            raise
        logger.info("result", extra={"result": result})
        return result

    return handler
