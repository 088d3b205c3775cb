"""What each exercise did and found, and the drill's closing table (or JSON)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Callable

PASSED, FAILED, SKIPPED = "PASSED", "FAILED", "SKIPPED"


class ExerciseFailed(Exception):
    """A check the rest of the exercise depends on failed (the message says what was expected and found)."""


@dataclass
class Check:
    what: str
    passed: bool
    found: str = ""


@dataclass
class Outcome:
    name: str
    outcome: str = PASSED
    seconds: float = 0.0
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    cleaned: list[str] = field(default_factory=list)        # canaries removed after the exercise
    not_removed: list[str] = field(default_factory=list)    # canaries it could not remove (and why)
    note: str = ""


class Run:
    """One exercise being run: every step and check is printed as it happens and recorded."""

    def __init__(self, name: str, say: Callable[[str], None]):
        self.outcome = Outcome(name)
        self._say = say
        self._started = time.monotonic()

    def step(self, text: str) -> None:
        self._say(f"[{self.outcome.name}] {text}")

    def check(self, what: str, passed: bool, found: Any = "") -> bool:
        found = found if isinstance(found, str) else json.dumps(found, default=str)
        self.outcome.checks.append(Check(what, bool(passed), found))
        self._say(f"[{self.outcome.name}] {'ok  ' if passed else 'FAIL'} {what}" + (f": {found}" if found else ""))
        if not passed:
            self.outcome.outcome = FAILED
        return bool(passed)

    def require(self, what: str, passed: bool, found: Any = "") -> None:
        """A check the next steps depend on: the exercise stops here when it fails."""
        if not self.check(what, passed, found):
            raise ExerciseFailed(what)

    def fail(self, error: str) -> None:
        self.outcome.outcome = FAILED
        self.outcome.error = error
        self._say(f"[{self.outcome.name}] FAIL {error}")

    def finish(self) -> Outcome:
        self.outcome.seconds = round(time.monotonic() - self._started, 1)
        return self.outcome


@dataclass
class Report:
    drill: str
    stack: str
    account: str
    regions: list[str]
    exercises: list[Outcome] = field(default_factory=list)
    earlier: list[str] = field(default_factory=list)            # leftovers of earlier drills removed first
    earlier_not_removed: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)             # the canary alert queues' own cleanup
    alerts_not_removed: list[str] = field(default_factory=list)
    kept: bool = False

    @property
    def passed(self) -> bool:
        return (all(e.outcome != FAILED and not e.not_removed for e in self.exercises)
                and not self.earlier_not_removed and not self.alerts_not_removed)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def to_json(self) -> dict:
        return {"drill": self.drill, "stack": self.stack, "account": self.account, "regions": self.regions,
                "passed": self.passed, "exitCode": self.exit_code, "kept": self.kept,
                "exercises": [asdict(e) for e in self.exercises],
                "earlierLeftovers": {"removed": self.earlier, "notRemoved": self.earlier_not_removed},
                "alertQueues": {"removed": self.alerts, "notRemoved": self.alerts_not_removed}}

    def table(self) -> str:
        rows = [("workflow", "outcome", "seconds", "cleaned up")]
        for e in self.exercises:
            if e.outcome == SKIPPED:
                cleaned = e.note
            elif self.kept:
                cleaned = "kept (--keep): the next drill of this stack removes them"
            else:
                cleaned = ", ".join(e.cleaned) or "nothing to remove"
                if e.not_removed:
                    cleaned += " | NOT REMOVED: " + ", ".join(e.not_removed)
            rows.append((e.name, e.outcome, f"{e.seconds:.1f}" if e.outcome != SKIPPED else "-", cleaned))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 10)
        failures = [f"  {e.name}: {e.error or '; '.join(c.what for c in e.checks if not c.passed)}"
                    for e in self.exercises if e.outcome == FAILED]
        extra = []
        if self.earlier or self.earlier_not_removed:
            extra.append(f"leftovers of earlier drills: removed {', '.join(self.earlier) or 'none'}"
                         + (f"; NOT REMOVED: {', '.join(self.earlier_not_removed)}" if self.earlier_not_removed else ""))
        if self.alerts_not_removed:
            extra.append(f"alert canaries NOT REMOVED: {', '.join(self.alerts_not_removed)}")
        verdict = (f"fire drill {self.drill} on {self.stack} ({self.account}): "
                   + ("PASSED" if self.passed else "FAILED") + f" (exit {self.exit_code})")
        return "\n".join([*lines, *(["failed:", *failures] if failures else []), *extra, verdict])

    def write(self, out: IO[str], as_json: bool) -> None:
        if as_json:
            print(json.dumps(self.to_json(), indent=2), file=out, flush=True)
        else:
            print(self.table(), file=out, flush=True)
