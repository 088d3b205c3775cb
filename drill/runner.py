"""The drill as a whole: check everything it needs before creating anything, remove what earlier drills of the
stack left, open the alert canary, run each exercise and clean up after it whatever happened, report."""
from __future__ import annotations

from types import ModuleType

from . import bucket_sync, cleanup, credentials, genomics, snapshots
from .alerts import AlertInbox
from .context import Drill
from .outputs import DrillSetupError
from .report import FAILED, SKIPPED, ExerciseFailed, Outcome, Report, Run

EXERCISES: dict[str, ModuleType] = {m.NAME: m for m in (snapshots, credentials, bucket_sync, genomics)}
NEEDS_ALERTS = {credentials.NAME, genomics.NAME}


def select(drill: Drill, only: list[str] | None) -> tuple[list[ModuleType], list[Outcome]]:
    """The exercises to run, and those skipped because the stack does not deploy their workflow. Asking with
    --only for one the stack does not deploy is an error."""
    unknown = sorted(set(only or []) - set(EXERCISES))
    if only is not None and not only:
        raise DrillSetupError(f"--only names no exercise; known: {', '.join(EXERCISES)}")
    if unknown:
        raise DrillSetupError(f"--only: unknown exercise(s) {', '.join(unknown)}; known: {', '.join(EXERCISES)}")
    chosen, skipped = [], []
    for name, module in EXERCISES.items():
        if only is not None and name not in only:
            continue
        missing = [o for o in module.NEEDS if not drill.outputs.has(o)]
        if not missing:
            chosen.append(module)
        elif only is not None:
            raise DrillSetupError(f"--only {name}: the {drill.stack} stack does not deploy it (no output "
                                  f"{', '.join(missing)})")
        else:
            skipped.append(Outcome(name, SKIPPED, note=f"not deployed on {drill.stack} (no {', '.join(missing)})"))
    return chosen, skipped


def check_account(drill: Drill) -> str:
    """The caller's account, which must be the stack's."""
    account = drill.client("sts", drill.outputs.home_region).get_caller_identity()["Account"]
    if account != drill.outputs.account:
        raise DrillSetupError(f"the AWS credentials are for account {account}, the {drill.stack} stack's outputs "
                              f"for {drill.outputs.account}: use the stack's account")
    return account


def preflight(drill: Drill, chosen: list[ModuleType]) -> str:
    """Everything checked before anything is created: the caller's account is the stack's, each exercise has
    what it needs (bucket-sync: its canary buckets are allowlisted). Returns the account."""
    account = check_account(drill)
    for module in chosen:
        module.preflight(drill)
    return account


def drill_stack(drill: Drill, only: list[str] | None = None) -> Report:
    chosen, skipped = select(drill, only)
    account = preflight(drill, chosen)
    report = Report(drill.id, drill.stack, account, drill.outputs.regions, kept=drill.options.keep)
    drill.say(f"opsflows fire drill {drill.id}: stack {drill.stack}, account {account}, regions "
              f"{', '.join(drill.outputs.regions)}; exercises {', '.join(m.NAME for m in chosen) or 'none'}")

    earlier = cleanup.sweep(drill)                                   # what interrupted drills left
    report.earlier, report.earlier_not_removed = earlier.removed, earlier.not_removed
    inbox = AlertInbox(drill)
    try:
        if any(m.NAME in NEEDS_ALERTS for m in chosen):
            inbox.open(drill.say)
        for module in chosen:
            report.exercises.append(exercise(drill, module, inbox))
    finally:
        if not drill.options.keep:
            alerts = cleanup.sweep(drill, ("queues",), drill.id)
            report.alerts, report.alerts_not_removed = alerts.removed, alerts.not_removed
    report.exercises.extend(skipped)
    return report


def exercise(drill: Drill, module: ModuleType, inbox: AlertInbox) -> Outcome:
    run = Run(module.NAME, drill.say)
    try:
        if module.NAME in NEEDS_ALERTS:
            module.run(drill, run, inbox)
        else:
            module.run(drill, run)
    except ExerciseFailed:
        pass                                            # the failed check is recorded already
    except Exception as exc:                            # an AWS error, a bug: the exercise failed, the drill goes on
        run.fail(f"{type(exc).__name__}: {exc}")
    finally:
        if not drill.options.keep and module.KINDS:
            removed = cleanup.sweep(drill, module.KINDS, drill.id)
            run.outcome.cleaned, run.outcome.not_removed = removed.removed, removed.not_removed
    outcome = run.finish()
    if outcome.outcome != FAILED and not outcome.checks:
        run.fail("no check ran")
    return outcome
