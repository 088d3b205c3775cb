"""Rehearsal scenarios: one module per capability, each playing its workflow end to end in the local cloud.

A module defines one or more `Scenario`s with the `@scenario(name, needs=(stacks...))` decorator. The
function receives a `Play` (the cloud, the deployments, and `check(name, ok, detail)`) and records what it
verified; `state(line)` adds a line describing the resulting AWS state to the trace.

`check` records an outcome the scenario expects when AWS behaves; `invariant` records a safety rule that must
hold under any fault (nothing not ours deleted, no source object changed, no second copy, ...). With faults
injected (`rehearse --fault ...`), a check may fail for a permanent fault; an invariant never may.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from ..cloud import LocalCloud
from ..deploy import Deployment


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class Play:
    cloud: LocalCloud
    deployments: dict[str, Deployment]
    checks: list[Check] = field(default_factory=list)
    invariants: list[Check] = field(default_factory=list)
    state_lines: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: Any = "") -> bool:
        self.checks.append(Check(name, bool(ok), "" if ok else str(detail)))
        return bool(ok)

    def invariant(self, name: str, ok: bool, detail: Any = "") -> bool:
        self.invariants.append(Check(name, bool(ok), "" if ok else str(detail)))
        return bool(ok)

    def state(self, line: str) -> None:
        self.state_lines.append(line)

    def output(self, stack: str, name: str) -> str:
        return self.deployments[stack].outputs[name]


@dataclass
class Scenario:
    name: str
    needs: tuple[str, ...]                  # stacks that must be deployed (the first one at least)
    play: Callable[[Play], None]
    config: dict[str, dict[str, Any]] = field(default_factory=dict)   # per-stack config overrides
    description: str = ""
    without: tuple[str, ...] = ()           # played only when none of these stacks is deployed


SCENARIOS: list[Scenario] = []


def scenario(name: str, *, needs: tuple[str, ...] = ("primary",), config: dict | None = None,
             description: str = "", without: tuple[str, ...] = ()
             ) -> Callable[[Callable[[Play], None]], Callable[[Play], None]]:
    def register(fn: Callable[[Play], None]) -> Callable[[Play], None]:
        SCENARIOS.append(Scenario(name, needs, fn, config or {}, description or (fn.__doc__ or "").strip(),
                                  without))
        return fn
    return register


def load_all() -> list[Scenario]:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}")
    return SCENARIOS
