"""python -m localcloud rehearse [--stack primary|dr|all] [--json]
python -m localcloud policy --stack primary|dr
python -m localcloud faults [--workflow snapshots,...] [--json]"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {"rehearse": "localcloud.rehearse", "policy": "localcloud.policy", "faults": "localcloud.catalogue.run"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
