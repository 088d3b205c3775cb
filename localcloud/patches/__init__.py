"""Moto gaps the local cloud closes, one module per gap; each module's `apply()` is called once."""
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
