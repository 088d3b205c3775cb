"""The AWS requests the workload makes (Lambda handlers and Step Functions integrations, which run on execution
threads): counted per operation, and failed on demand with the faults in force (localcloud.faults).

Both happen where a request reaches the moto-backed endpoint, once per HTTP attempt: a request the SDK retries
is counted (and may be failed) again, as AWS would see and bill it. Calls from the main thread are the
harness's (setup and assertions) and are neither counted nor failed.
"""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from .faults import FaultInjector, error_body


@dataclass
class Metrics:
    api_calls: Counter = field(default_factory=Counter)
    lambda_invocations: Counter = field(default_factory=Counter)

    def reset(self) -> None:
        self.api_calls.clear()
        self.lambda_invocations.clear()

    def calls(self, prefix: str = "") -> int:
        return sum(n for k, n in self.api_calls.items() if k.startswith(prefix))


@dataclass(frozen=True)
class _Call:
    service: str
    operation: str
    params: dict
    protocol: str
    workload: bool


class Workload:
    def __init__(self, metrics: Metrics, injector: FaultInjector):
        self.metrics = metrics
        self.injector = injector
        self._lock = threading.Lock()
        self._calls = threading.local()          # a stack of the calls this thread is making
        self._originals: tuple[Any, Any] | None = None
        self._paused = 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def install(self) -> None:
        original_call, original_send = BaseClient._make_api_call, BotocoreStubber.__call__
        self._originals = (original_call, original_send)
        workload = self

        def _make_api_call(client: BaseClient, operation_name: str, api_params: dict) -> Any:
            model = client.meta.service_model
            stack = workload._stack()
            stack.append(_Call(model.service_name, operation_name, api_params, model.protocol,
                               not workload._paused and threading.current_thread() is not threading.main_thread()))
            try:
                return original_call(client, operation_name, api_params)
            finally:
                stack.pop()

        def send(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> AWSResponse | None:
            stack = workload._stack()
            if stubber.enabled and stack and stack[-1].workload:
                failed = workload.attempt(stack[-1])
                if failed is not None:
                    return AWSResponse(request.url, failed[0], failed[1], MockRawResponse(failed[2]))
            return original_send(stubber, event_name, request, **kwargs)

        BaseClient._make_api_call = _make_api_call
        BotocoreStubber.__call__ = send

    def uninstall(self) -> None:
        if self._originals is not None:
            BaseClient._make_api_call, BotocoreStubber.__call__ = self._originals
            self._originals = None

    def _stack(self) -> list[_Call]:
        if not hasattr(self._calls, "stack"):
            self._calls.stack = []
        return self._calls.stack

    def attempt(self, call: _Call) -> tuple[int, dict, bytes] | None:
        """Count one HTTP attempt of `call`; the error response to answer with when a fault hits it."""
        with self._lock:
            self.metrics.api_calls[f"{call.service}.{call.operation}"] += 1
        fault = self.injector.decide(call.service, call.operation, call.params)
        if fault is None:
            return None
        headers, body = error_body(call.protocol, fault.code, fault.message or f"injected {fault.code}")
        return fault.status, headers, body
