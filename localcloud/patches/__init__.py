"""Moto gaps the local cloud closes, one module per gap; each module's `apply()` is called once, and its
`reset()` (if it keeps state of its own, e.g. modelled operations under way) when a new local cloud starts."""
from __future__ import annotations

import importlib
import pkgutil

_APPLIED = False


def apply_all() -> None:
    global _APPLIED
    if _APPLIED:
        return
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}").apply()
    _APPLIED = True


def reset_all() -> None:
    """Forget the state patches keep for a running cloud (a new LocalCloud starts from nothing)."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        reset = getattr(importlib.import_module(f"{__name__}.{module.name}"), "reset", None)
        if reset is not None:
            reset()
