"""The local cloud's one clock: simulated time runs `scale()` times real time (LOCALCLOUD_TIME_SCALE, default
0.001: an hour of AWS time takes 3.6 real seconds), for everything that waits:

- Step Functions Retry intervals and Wait states (patches.sfn_time),
- the SDK's own retry backoff inside handlers and integrations (botocore's sleep between attempts),
- operation durations the local cloud models (a snapshot copy pending for hours, a Batch job running),
- event delivery after an operation completes.

Durations are what it compresses; timestamps that moto writes (StartTime, LastModified, ...) stay wall-clock.
`elapsed()` is the simulated time since the clock started, the figure benchmarks report (time-to-DR, ...).
Every sleep is recorded in SLEPT by kind, so tests can assert on the backoff AWS would have waited.
An operation the local cloud models as under way outside any execution (a snapshot copy pending) runs inside
`operation(kind)`, so `LocalCloud.run_until_idle` waits for it as it waits for executions (`busy()`).
"""
from __future__ import annotations

import os
import threading
import time as _time
from collections import Counter, defaultdict
from contextlib import contextmanager
from typing import Iterator

_STARTED = _time.monotonic()
_LOCK = threading.Lock()
SLEPT: dict[str, list[float]] = defaultdict(list)     # kind -> simulated seconds slept, in order
_UNDER_WAY: Counter[str] = Counter()                 # kind -> modelled operations under way


def scale() -> float:
    """Real seconds per simulated second."""
    return float(os.environ.get("LOCALCLOUD_TIME_SCALE", "0.001"))


def sleep(seconds: float, kind: str = "other") -> None:
    """Wait `seconds` of simulated time."""
    with _LOCK:
        SLEPT[kind].append(float(seconds))
    if seconds > 0:
        _time.sleep(seconds * scale())


def restart() -> None:
    """Start simulated time at zero (a new cloud) and forget what was slept."""
    global _STARTED
    with _LOCK:
        _STARTED = _time.monotonic()
        for waits in SLEPT.values():
            waits.clear()


@contextmanager
def operation(kind: str) -> Iterator[None]:
    """An operation the local cloud models as taking time is under way (e.g. a snapshot copy pending)."""
    with _LOCK:
        _UNDER_WAY[kind] += 1
    try:
        yield
    finally:
        with _LOCK:
            _UNDER_WAY[kind] -= 1


def busy() -> int:
    """How many modelled operations are under way."""
    with _LOCK:
        return sum(_UNDER_WAY.values())


def elapsed() -> float:
    """Simulated seconds since the clock (re)started."""
    return (_time.monotonic() - _STARTED) / scale()


def to_real(seconds: float) -> float:
    return seconds * scale()


def install_sdk_backoff() -> None:
    """botocore sleeps between retry attempts in `botocore.endpoint` (`time.sleep(delay)`): on this clock."""
    import types

    import botocore.endpoint as endpoint
    if getattr(endpoint.time, "_localcloud", False):
        return
    endpoint.time = types.SimpleNamespace(sleep=lambda s: sleep(s, "sdk-retry"), time=_time.time,
                                          monotonic=_time.monotonic, _localcloud=True)
