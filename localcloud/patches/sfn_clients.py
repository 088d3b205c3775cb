"""Speed only: moto's Step Functions interpreter builds a new boto3 client for every task it runs (~50 ms
each, most of a workflow's local run time). Clients are thread-safe and these differ only by region and
service, so one per (region, service) is reused."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import threading

import moto.stepfunctions.parser.asl.component.state.exec as state_exec
from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module

_CACHE: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def apply() -> None:
    original = boto_client_module.boto_client_for

    def boto_client_for(region: str, service: str, state_credentials=None):
        with _LOCK:
            key = (region, service)
            if key not in _CACHE:
                _CACHE[key] = original(region, service, state_credentials)
            return _CACHE[key]

    for module in pkgutil.walk_packages(state_exec.__path__, f"{state_exec.__name__}."):
        importlib.import_module(module.name)
    boto_client_module.boto_client_for = boto_client_for
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for
