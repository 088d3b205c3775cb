"""The AWS calls the workload makes (Lambda handlers and Step Functions integrations, which run on
execution threads): counted per operation, and failed on demand with injected AWS errors.

Calls from the main thread are the harness's (setup and assertions) and are neither counted nor failed.
"""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from botocore.client import BaseClient
from botocore.exceptions import ClientError


@dataclass
class InjectedError:
    service: str
    operation: str
    code: str
    message: str
    when: Callable[[dict], bool] | None = None
    times: int | None = None          # None: every matching call
    raised: int = 0

    def matches(self, service: str, operation: str, params: dict) -> bool:
        return (self.service == service and self.operation == operation
                and (self.times is None or self.raised < self.times)
                and (self.when is None or bool(self.when(params))))


@dataclass
class Metrics:
    api_calls: Counter = field(default_factory=Counter)
    lambda_invocations: Counter = field(default_factory=Counter)

    def reset(self) -> None:
        self.api_calls.clear()
        self.lambda_invocations.clear()

    def calls(self, prefix: str = "") -> int:
        return sum(n for k, n in self.api_calls.items() if k.startswith(prefix))


class Workload:
    def __init__(self, metrics: Metrics):
        self.metrics = metrics
        self.errors: list[InjectedError] = []
        self._lock = threading.Lock()
        self._original: Any = None
        self._paused = 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def install(self) -> None:
        self._original = original = BaseClient._make_api_call
        workload = self

        def _make_api_call(client: BaseClient, operation_name: str, api_params: dict) -> Any:
            if not workload._paused and threading.current_thread() is not threading.main_thread():
                workload.observe(client.meta.service_model.service_name, operation_name, api_params)
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call

    def uninstall(self) -> None:
        if self._original is not None:
            BaseClient._make_api_call = self._original

    def observe(self, service: str, operation: str, params: dict) -> None:
        with self._lock:
            self.metrics.api_calls[f"{service}.{operation}"] += 1
            error = next((e for e in self.errors if e.matches(service, operation, params)), None)
            if error:
                error.raised += 1
        if error:
            raise ClientError({"Error": {"Code": error.code, "Message": error.message},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)

    def inject(self, error: InjectedError) -> InjectedError:
        with self._lock:
            self.errors.append(error)
        return error
