"""Play catalogue rows in a local cloud and judge them by the rules (localcloud.catalogue's docstring).

    python -m localcloud faults [--workflow snapshots,...] [--json]

prints, per workflow and row, the faults tried, the outcome, what was injected and retried, the alerts and the
violations; it exits 0 only if no row has a violation.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

from ..cloud import LocalCloud
from ..rules import REPORTING_OUTPUTS, alert_problems
from . import FAILED, SUCCEEDED, BadInput, Exercise, FaultCase, describe, exercises


@dataclass
class Outcome:
    workflow: str
    row: str
    expect: str
    status: str = ""                    # how the run ended: SUCCEEDED, FAILED (or NONE: nothing ran)
    injected: int = 0
    retried: int = 0
    alerts: int = 0
    rerun: str = ""                     # FAILED rows: how the rerun after the fault ended
    violations: list[str] = field(default_factory=list)


@contextmanager
def deployed(exercise: Exercise, seed: int = 0) -> Iterator[LocalCloud]:
    """A local cloud with the stacks the exercise needs."""
    with LocalCloud(seed=seed) as cloud:
        for stack, config in exercise.stacks.items():
            cloud.deploy(stack, config)
        yield cloud


def _reporting(cloud: LocalCloud) -> set[str]:
    return {d.outputs[o] for d in cloud.deployments.values() for o in REPORTING_OUTPUTS if o in d.outputs}


class _Phase:
    """Executions, alerts and API calls of one phase of a row."""

    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        # ARNs only: reading every earlier execution's history at every phase made a catalogue quadratic.
        self._executions = {e.execution_arn for e in cloud._all_executions()}
        self._alerts = len(cloud.alerts())
        self._calls = Counter(cloud.metrics.api_calls)

    def end(self) -> "_Phase":
        self.cloud.run_until_idle()
        self.executions = [self.cloud.execution(e.execution_arn) for e in
                           sorted(self.cloud._all_executions(), key=lambda e: e.start_date)
                           if e.execution_arn not in self._executions]
        self.alerts = self.cloud.alerts()[self._alerts:]
        self.calls = Counter(self.cloud.metrics.api_calls) - self._calls
        return self

    @property
    def status(self) -> str:
        statuses = {e["status"] for e in self.executions}
        return FAILED if FAILED in statuses else (SUCCEEDED if statuses == {SUCCEEDED} else
                                                  ",".join(sorted(statuses)) or "NONE")

    def problems(self) -> list[str]:
        return alert_problems(self.executions, self.alerts, _reporting(self.cloud))

    def failed(self) -> list[dict]:
        return [e for e in self.executions if e["status"] == FAILED]


def run_fault(cloud: LocalCloud, exercise: Exercise, case: FaultCase) -> Outcome:
    outcome = Outcome(exercise.workflow, str(case), case.expect)
    run = exercise.prepare(cloud)
    cloud.run_until_idle()
    phase = _Phase(cloud)
    injected = cloud.inject(*case.faults)
    try:
        exercise.start(cloud, run)
        phase.end()
    finally:
        cloud.clear_errors()
    outcome.status, outcome.alerts = phase.status, len(phase.alerts)
    outcome.injected = sum(f.injected for f in injected)
    problems = outcome.violations
    if not outcome.injected:
        problems.append("no fault fired: the row tests nothing (wrong operation, match or workflow?)")
    problems += phase.problems() + exercise.violations(cloud, run)
    if case.expect == SUCCEEDED:
        if phase.status != SUCCEEDED:
            problems.append(f"a transient fault must be retried to success; the run ended {phase.status}: "
                            + "; ".join(f"{e['error']}: {(e['cause'] or '')[:200]}" for e in phase.failed()))
        _same_end_state(cloud, exercise, run, problems)
    else:
        if phase.status != FAILED:
            problems.append(f"a permanent fault must end the run FAILED; it ended {phase.status}")
        if len(phase.alerts) != 1:
            problems.append(f"a permanent fault must publish exactly one alert; it published {len(phase.alerts)}")
        rerun = _Phase(cloud)
        exercise.rerun(cloud, run, [e for e in phase.failed() if _is_root(e, phase.executions)])
        rerun.end()
        outcome.rerun = rerun.status
        if rerun.status != SUCCEEDED:
            problems.append(f"the rerun after the fault cleared ended {rerun.status}")
        problems += [f"rerun: {p}" for p in rerun.problems() + exercise.violations(cloud, run)
                     + exercise.rerun_violations(cloud, run, rerun.calls)]
        _same_end_state(cloud, exercise, run, problems, "after the rerun, ")
    report = {r["fault"]: r for r in cloud.faults.report()}
    outcome.retried = sum(report[f.describe()]["retried"] for f in injected if f.describe() in report)
    return outcome


def run_bad_input(cloud: LocalCloud, exercise: Exercise, bad: BadInput) -> Outcome:
    outcome = Outcome(exercise.workflow, bad.name, FAILED)
    run = exercise.prepare(cloud)
    cloud.run_until_idle()
    before = exercise.observe(cloud, run)
    phase = _Phase(cloud)
    exercise.start_with(cloud, run, bad.input)
    phase.end()
    outcome.status, outcome.alerts = phase.status, len(phase.alerts)
    problems = outcome.violations
    if phase.status != FAILED:
        problems.append(f"a malformed input must end FAILED; it ended {phase.status}")
    if len(phase.alerts) != 1:
        problems.append(f"a malformed input must publish exactly one alert; it published {len(phase.alerts)}")
    for alert in phase.alerts:
        if bad.error not in f"{alert.get('subject')} {alert.get('message')}":
            problems.append(f"the alert does not name the problem ({bad.error!r}): {alert.get('message', '')[:300]!r}")
    if phase.failed() and not any(bad.error in f"{e.get('error')} {e.get('cause')}" for e in phase.failed()):
        problems.append(f"the execution's error does not name the problem ({bad.error!r}): "
                        + "; ".join(f"{e.get('error')}: {(e.get('cause') or '')[:300]}" for e in phase.failed()))
    problems += phase.problems() + exercise.violations(cloud, run)
    after = exercise.observe(cloud, run)
    if after != before:
        problems.append(f"a malformed input changed AWS state: before {describe(before)}, after {describe(after)}")
    return outcome


def _same_end_state(cloud: LocalCloud, exercise: Exercise, run: Any, problems: list[str], when: str = "") -> None:
    expected, observed = exercise.expected(cloud, run), exercise.observe(cloud, run)
    if expected != observed:
        problems.append(f"{when}the end state differs from a run without the fault: expected {describe(expected)}, "
                        f"found {describe(observed)}")


def _is_root(execution: dict, executions: list[dict]) -> bool:
    """Not started by another execution of the run (a continuation or child names its parent nowhere we can
    read, but its parent's cause names it)."""
    return not any(execution["arn"] in f"{other.get('cause') or ''}" for other in executions
                   if other["arn"] != execution["arn"])


def run_all(workflows: list[str] | None = None, seed: int = 0) -> list[Outcome]:
    outcomes = []
    for name, exercise in sorted(exercises().items()):
        if workflows and name not in workflows:
            continue
        with deployed(exercise, seed) as cloud:
            outcomes += [run_fault(cloud, exercise, case) for case in exercise.faults]
            outcomes += [run_bad_input(cloud, exercise, bad) for bad in exercise.bad_inputs]
    return outcomes


def print_table(outcomes: list[Outcome], out: Any = sys.stdout) -> None:
    print("| workflow | row | expected | outcome | rerun | injected | retried | alerts | violations |", file=out)
    print("|---|---|---|---|---|---|---|---|---|", file=out)
    for o in outcomes:
        print(f"| {o.workflow} | `{o.row}` | {o.expect} | {o.status} | {o.rerun or '-'} | {o.injected} | "
              f"{o.retried} | {o.alerts} | {len(o.violations)} |", file=out)
    bad = [o for o in outcomes if o.violations]
    for o in bad:
        print(f"\n{o.workflow} {o.row}:", *(f"  - {v}" for v in o.violations), sep="\n", file=out)
    print(f"\n{len(outcomes)} rows, {sum(len(o.violations) for o in outcomes)} violations", file=out)


def main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m localcloud faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflow", help="comma-separated workflows (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = sys.stdout
    sys.stdout = sys.stderr          # handlers' logs (Lambda's stdout goes to CloudWatch Logs) never mix in
    try:
        outcomes = run_all(args.workflow.split(",") if args.workflow else None, args.seed)
    finally:
        sys.stdout = out
    if args.json:
        print(json.dumps([asdict(o) for o in outcomes], indent=2))
    else:
        print_table(outcomes)
    return 0 if outcomes and not any(o.violations for o in outcomes) else 1
