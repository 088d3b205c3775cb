"""Step Functions time on the local cloud's clock (localcloud.clock): Retry intervals and Wait states wait
simulated time, so a retried throttle or an hour-long Wait costs the tests milliseconds. AWS waits the full
interval; moto sleeps it in real time. The intervals AWS would wait are in clock.SLEPT["retry"] (seconds, in
order; RETRY_WAITS is the same list) for tests of backoff. A task's TimeoutSeconds (TimeoutSecondsPath) runs on
the same clock: a callback task that may wait a day for its token times out after a simulated day."""
from __future__ import annotations

import time as _time
import types

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

from .. import clock

RETRY_WAITS = clock.SLEPT["retry"]


def apply() -> None:
    retrier_decl.time = types.SimpleNamespace(sleep=lambda s: clock.sleep(s, "retry"), time=_time.time)

    original = wait_function.WaitFunction._wait_interval

    def _wait_interval(self, env, wait_seconds):
        clock.SLEPT["wait"].append(float(wait_seconds))
        return original(self, env, clock.to_real(wait_seconds))

    wait_function.WaitFunction._wait_interval = _wait_interval

    def _eval_timeout(self, env):
        env.stack.append(clock.to_real(self._eval_seconds(env=env)))

    Timeout._eval_body = _eval_timeout
