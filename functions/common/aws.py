"""AWS clients, made on first use in the right region (never at import time), and paginated listings."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Iterator

import boto3
from botocore.config import Config

# Retries are the state machine's job (with backoff and alerting); the SDK tries a little itself too.
SDK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3})


def home_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(service: str, region: str | None = None) -> Any:
    return _client(service, region or home_region())


@lru_cache(maxsize=None)
def _client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=SDK_CONFIG)


def paginate(service_client: Any, operation: str, result_key: str, **params: Any) -> Iterator[dict]:
    """Every item of a paginated list/describe call, page by page."""
    for page in service_client.get_paginator(operation).paginate(**params):
        yield from page.get(result_key, [])
