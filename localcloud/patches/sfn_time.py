"""Time runs fast in the local cloud: Retry intervals and Wait states sleep for a fraction of their real
duration (LOCALCLOUD_TIME_SCALE, default 0.001), so a retried throttle does not cost the tests seconds.
The intervals AWS would wait are recorded in RETRY_WAITS (seconds, in order) for tests of backoff."""
from __future__ import annotations

import os
import time as _time
import types

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

RETRY_WAITS: list[float] = []


def scale() -> float:
    return float(os.environ.get("LOCALCLOUD_TIME_SCALE", "0.001"))


def apply() -> None:
    def sleep(seconds: float) -> None:
        RETRY_WAITS.append(seconds)
        _time.sleep(seconds * scale())

    retrier_decl.time = types.SimpleNamespace(sleep=sleep, time=_time.time)

    original = wait_function.WaitFunction._wait_interval

    def _wait_interval(self, env, wait_seconds):
        return original(self, env, wait_seconds * scale())

    wait_function.WaitFunction._wait_interval = _wait_interval
