"""python -m drill ... is python -m localcloud drill ... (see drill/cli.py)."""
import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
