"""Benchmark: what one fire drill costs, per exercise, counted in the local cloud (no timings): the drill's own AWS
API calls (what its credentials are billed and throttled for, and what drill/policy.json must allow) and the
Lambda invocations of the workflows it drives. Polling calls grow with --deadline/--poll against real AWS (waits
there last minutes); here every wait ends at the first look after the workflows finish.
Run: make bench, or
    .venv/bin/python bench/drill.py
"""
from __future__ import annotations

import io
import json
import sys
import tempfile
import threading
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from botocore.client import BaseClient  # noqa: E402

from localcloud import LocalCloud  # noqa: E402
from localcloud.__main__ import main  # noqa: E402
from localcloud.scenarios.genomics import genomics_config, network  # noqa: E402

RUNS = [("primary", "snapshots"), ("primary", "credentials"), ("primary", "bucket-sync"), ("primary", "genomics"),
        ("dr", "snapshots")]


def drill_calls(run) -> tuple[int, Counter]:
    calls: Counter = Counter()
    original = BaseClient._make_api_call

    def count(client, operation, params):
        if threading.current_thread() is threading.main_thread():
            calls[f"{client.meta.service_model.signing_name}:{operation}"] += 1
        return original(client, operation, params)

    BaseClient._make_api_call = count
    try:
        code = run()
    finally:
        BaseClient._make_api_call = original
    return code, calls


def main_() -> int:
    with LocalCloud() as cloud, tempfile.TemporaryDirectory() as folder:
        paths = {}
        for stack, config in (("primary", genomics_config(*network())), ("dr", None)):
            paths[stack] = Path(folder) / f"{stack}.json"
            paths[stack].write_text(json.dumps(cloud.deploy(stack, config).outputs))
        print(f"{'stack':8} {'exercise':12} {'exit':>4} {'drill calls':>11} {'polls':>5} {'lambdas':>7}  top calls")
        failed = 0
        for stack, exercise in RUNS:
            cloud.metrics.reset()
            argv = ["drill", "--stack", stack, "--outputs", str(paths[stack]), "--only", exercise,
                    "--poll", "0.02", "--deadline", "30"]
            with redirect_stdout(io.StringIO()):
                code, calls = drill_calls(lambda: main(argv))
            cloud.run_until_idle()
            polls = sum(n for k, n in calls.items() if k.split(":")[1].startswith(("Describe", "List", "Receive")))
            top = ", ".join(f"{k} {n}" for k, n in calls.most_common(4))
            print(f"{stack:8} {exercise:12} {code:>4} {sum(calls.values()):>11} {polls:>5} "
                  f"{sum(cloud.metrics.lambda_invocations.values()):>7}  {top}")
            failed += code != 0
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main_())
