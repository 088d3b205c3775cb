"""The fault and bad-input catalogues: for each workflow, the AWS faults it must survive and the malformed inputs
it must refuse, each row with the outcome it must have. `localcloud.catalogue.run` plays a row on fresh
resources in a local cloud and returns the violations of the rules (which must be none):

- a transient fault (throttling, limits, 5xx, Spot reclamation, Lambda throttles) is retried: the run ends
  SUCCEEDED with the AWS end state of a run without the fault, and no alert;
- a permanent fault (AccessDenied, NoSuchEntity, invalid parameters) ends FAILED with exactly one alert, nothing
  is lost, and re-running the failed execution once the fault clears converges to that same end state, without
  duplicating what the first run did (a second DR copy, a second key change, a re-copied object);
- a malformed input ends FAILED with one alert whose text names the problem, and changes nothing.

A workflow's module defines one `Exercise` subclass: how to make fresh resources for a run, start the workflow,
and read the end state, with its `faults` and `bad_inputs` rows. Every module of this package is loaded by
`exercises()`.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"


@dataclass(frozen=True)
class FaultCase:
    faults: tuple[str, ...]             # fault specs in force while the workflow runs (localcloud.faults)
    expect: str                         # SUCCEEDED (transient: retried) or FAILED (permanent: one alert)
    why: str = ""                       # what the case proves, in a few words

    def __str__(self) -> str:
        return "+".join(self.faults)


@dataclass(frozen=True)
class BadInput:
    name: str                           # what is wrong, in a few words (the test id)
    input: Any                          # the execution input (or event) the workflow is started with
    error: str                          # text the alert and the execution's error or cause must contain

    def __str__(self) -> str:
        return self.name


class Exercise:
    """One workflow played on fresh resources. Subclasses set the class attributes and the methods below."""

    workflow: ClassVar[str]
    stacks: ClassVar[dict[str, dict]] = {"primary": {}}      # stacks to deploy, with config overrides
    faults: ClassVar[tuple[FaultCase, ...]] = ()
    bad_inputs: ClassVar[tuple[BadInput, ...]] = ()

    def prepare(self, cloud: Any) -> Any:
        """Fresh resources for one run (settled: no execution still running); returns the run's context."""
        raise NotImplementedError

    def start(self, cloud: Any, run: Any) -> None:
        """What the user or AWS does to start the workflow on the run's resources."""
        raise NotImplementedError

    def start_with(self, cloud: Any, run: Any, value: Any) -> None:
        """Start the workflow with a malformed input (default: an execution of its state machine)."""
        cloud.start(self.state_machine(cloud), value)

    def rerun(self, cloud: Any, run: Any, failed: list[dict]) -> None:
        """What an operator does once the fault is gone: start each failed execution again with its input."""
        for execution in failed:
            cloud.start(execution["stateMachineArn"], execution["input"])

    def expected(self, cloud: Any, run: Any) -> Any:
        """The AWS end state a correct run leaves (compared with `observe`)."""
        raise NotImplementedError

    def observe(self, cloud: Any, run: Any) -> Any:
        """The AWS end state of the run's resources, in the same shape as `expected`."""
        raise NotImplementedError

    def violations(self, cloud: Any, run: Any) -> list[str]:
        """Safety rules broken on the run's resources: something lost, something not ours changed, something
        done twice. Checked after every phase, faulted or not."""
        return []

    def rerun_violations(self, cloud: Any, run: Any, calls: Counter) -> list[str]:
        """Work a rerun repeated that the first run had done (`calls`: the rerun's API calls per operation)."""
        return []

    def state_machine(self, cloud: Any, output: str | None = None) -> str:
        stack = next(iter(self.stacks))
        return cloud.deployments[stack].outputs[output or self.output]

    output: ClassVar[str] = ""                               # the stack output naming its state machine


def exercises() -> dict[str, Exercise]:
    """Every workflow's exercise, by workflow name."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name != "run":
            importlib.import_module(f"{__name__}.{module.name}")
    return {cls.workflow: cls() for cls in _subclasses(Exercise) if getattr(cls, "workflow", None)}


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.extend([sub, *_subclasses(sub)])
    return found


def describe(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."
