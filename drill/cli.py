"""python -m localcloud drill --stack primary|dr [--outputs FILE|-] [--only snapshots,credentials,bucket-sync,genomics]
                            [--json] [--keep] [--poll SECONDS] [--deadline SECONDS] [--cleanup-only]

Fire drill: exercise every workflow the stack deployed, in the real account, on canary resources the drill
creates and removes itself; print each step, then a table (or --json); exit 0 only if every exercise passed and
every canary was removed. Needs boto3 and AWS credentials for the stack's account (README: "Fire drills").

  pulumi stack output --json --show-secrets -s primary | python -m localcloud drill --stack primary

Exit codes: 0 passed; 1 an exercise failed or a canary could not be removed; 2 the drill could not start (bad
arguments or outputs, other account, bucket-sync canaries not allowlisted): nothing was created.
"""
from __future__ import annotations

import argparse
import sys
from typing import IO, Any

from . import cleanup
from .context import Drill, Options
from .outputs import DrillSetupError, StackOutputs, read
from .runner import EXERCISES, check_account, drill_stack


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m localcloud drill", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("--stack", required=True, choices=["primary", "dr"], help="the stack drilled")
    p.add_argument("--outputs", default="-", metavar="FILE|-",
                   help="the stack's `pulumi stack output --json --show-secrets` (default: standard input)")
    p.add_argument("--only", metavar="LIST", help="comma-separated exercises: " + ",".join(EXERCISES))
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout (steps go to stderr)")
    p.add_argument("--keep", action="store_true", help="leave the canaries (the next drill of the stack removes them)")
    p.add_argument("--poll", type=float, default=Options.poll, metavar="SECONDS",
                   help=f"seconds between looks at AWS while waiting (default {Options.poll:g})")
    p.add_argument("--deadline", type=float, default=Options.deadline, metavar="SECONDS",
                   help=f"how long one wait (a workflow, a DR copy, an alert) may last (default {Options.deadline:g})")
    p.add_argument("--cleanup-only", action="store_true",
                   help="only remove what earlier drills of the stack left behind, then exit")
    return p


def main(argv: list[str], *, stdin: IO[str] | None = None, stdout: IO[str] | None = None,
         stderr: IO[str] | None = None, session: Any = None) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = parser().parse_args(argv)
    log = stderr if args.json else stdout
    try:
        if args.poll <= 0 or args.deadline <= 0:
            raise DrillSetupError("--poll and --deadline must be positive numbers of seconds")
        only = [o.strip() for o in args.only.split(",") if o.strip()] if args.only is not None else None
        outputs = StackOutputs.parse(args.stack, read(args.outputs, stdin))
        drill = Drill(outputs, Options(poll=args.poll, deadline=args.deadline, keep=args.keep), session=session,
                      log=log)
        if args.cleanup_only:
            check_account(drill)
            done = cleanup.sweep(drill)
            print(f"removed {len(done.removed)} leftover(s)" + (f"; NOT removed: {', '.join(done.not_removed)}"
                                                                 if done.not_removed else ""), file=stdout)
            return 1 if done.not_removed else 0
        report = drill_stack(drill, only)
    except DrillSetupError as exc:
        print(f"drill: {exc}", file=stderr)
        return 2
    except KeyboardInterrupt:
        print("drill: interrupted; this drill's canaries were removed as far as it got, the next drill of the "
              "stack (or --cleanup-only) removes the rest", file=stderr)
        return 130
    report.write(stdout, args.json)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
