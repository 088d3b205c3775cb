"""How each Pulumi resource type is created in moto when the program runs under the local cloud's mocks.

A module per AWS service registers creators with `@creates(type_token)`. A creator receives a `Created`
context (region, account, a physical name, the resource's inputs in Pulumi wire format) and returns
`(physical id, state)` where state holds the outputs the program reads (e.g. `arn`, `name`).
Every module in this package is imported by `load_all()`.
"""
from __future__ import annotations

import hashlib
import importlib
import pkgutil
import threading
from dataclasses import dataclass
from typing import Any, Callable

import boto3

ACCOUNT = "123456789012"
CREATORS: dict[str, Callable[["Created"], tuple[str, dict]]] = {}


@dataclass
class Created:
    type: str
    name: str                    # the Pulumi logical name
    inputs: dict[str, Any]       # wire-format (camelCase) inputs, resolved
    region: str
    account: str = ACCOUNT

    def physical_name(self, max_length: int = 64, key: str = "name", prefix_key: str = "namePrefix") -> str:
        """The name Pulumi would give: the explicit one, or prefix/logical name plus a 7-hex suffix."""
        if self.inputs.get(key):
            return self.inputs[key]
        base = self.inputs.get(prefix_key) or f"{self.name}-"
        suffix = hashlib.sha1(f"{self.type}:{self.name}:{self.region}".encode()).hexdigest()[:7]
        return (base[: max_length - 7] + suffix) if len(base) + 7 > max_length else base + suffix

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        return f"arn:aws:{service}:{self.region if region is None else region}:" \
               f"{self.account if account is None else account}:{resource}"


_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def client(service: str, region: str = "us-east-1") -> Any:
    """A boto3 client for creators (made once per service and region: making one costs ~50 ms)."""
    with _CLIENTS_LOCK:
        if (service, region) not in _CLIENTS:
            _CLIENTS[(service, region)] = boto3.client(service, region_name=region)
        return _CLIENTS[(service, region)]


def creates(*types: str) -> Callable:
    def register(fn: Callable[[Created], tuple[str, dict]]) -> Callable[[Created], tuple[str, dict]]:
        for t in types:
            CREATORS[t] = fn
        return fn
    return register


def load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
