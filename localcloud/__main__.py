"""python -m localcloud rehearse [--stack primary|dr|all] [--json]
python -m localcloud policy --stack primary|dr
python -m localcloud faults [--workflow snapshots,...] [--json]
python -m localcloud drill --stack primary|dr [--outputs FILE|-] [--only ...] [--json] [--keep]   (real AWS; boto3 only)"""
from __future__ import annotations

import importlib
import sys

# Imported only when chosen: `drill` needs boto3 alone (it runs against real AWS after `pulumi up`).
COMMANDS = {"rehearse": "localcloud.rehearse", "policy": "localcloud.policy", "faults": "localcloud.catalogue.run",
            "drill": "drill.cli"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
