"""The in-process Lambda runtime: moto's Lambda needs Docker to run code; here the handler runs in this
process, from the function's deployed zip, with the function's environment and region.

Invocations are serialised by one lock: each sets the process environment (AWS_REGION and the function's
variables) for its duration, and imports the handler from its own extracted zip.

A handler's own waits run on the local cloud's one clock (localcloud.clock), as Step Functions' do: in every module
of the function's code, the `time` it imported is one whose `sleep` waits simulated seconds (recorded as kind
"lambda") and whose `monotonic` reads simulated time. (Code must call `time.sleep`, not a `sleep` imported by name.)
"""
from __future__ import annotations

import importlib
import io
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import types
import uuid
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import moto.awslambda.models as lambda_models

from . import clock, faults

_LOCK = threading.RLock()
_EXTRACTED: dict[str, Path] = {}
_ROOT = Path(tempfile.mkdtemp(prefix="localcloud-lambda-"))


class Context:
    """The parts of the Lambda context object handlers use."""

    def __init__(self, fn: Any):
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "localcloud"
        self._deadline = time.monotonic() + int(fn.timeout)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# `time` as handlers see it in the local cloud: sleeps and the monotonic clock on the one clock.
HANDLER_TIME = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
HANDLER_TIME.sleep = lambda seconds: clock.sleep(seconds, "lambda")
HANDLER_TIME.monotonic = clock.elapsed


def _on_the_clock(code: Path) -> None:
    for module in list(sys.modules.values()):
        if (getattr(module, "__file__", None) or "").startswith(str(code)) and getattr(module, "time", None) is time:
            module.time = HANDLER_TIME


def _code_dir(fn: Any) -> Path:
    sha = fn.code_sha_256
    if sha not in _EXTRACTED:
        target = _ROOT / sha.replace("/", "_").replace("+", "-")
        with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as z:
            z.extractall(target)
        _EXTRACTED[sha] = target
    return _EXTRACTED[sha]


def _import_handler(code: Path, handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    top_levels = {p.name.removesuffix(".py") for p in code.iterdir()}
    # Modules of the same top-level packages loaded from another function's zip are dropped, so every
    # function runs exactly the code it was deployed with.
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in top_levels:
            file = getattr(module, "__file__", None) or ""
            if not file.startswith(str(code)):
                del sys.modules[name]
    sys.path.insert(0, str(code))
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        _on_the_clock(code)
        return handler
    finally:
        sys.path.remove(str(code))


class Runtime:
    """Installs itself as moto's Lambda executor; counts invocations per function."""

    def __init__(self) -> None:
        self.invocations: Counter[str] = Counter()
        self._original = None

    def install(self) -> None:
        self._original = lambda_models.LambdaFunction._invoke_lambda
        runtime = self

        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(fn, event)

        lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda

    def uninstall(self) -> None:
        if self._original is not None:
            lambda_models.LambdaFunction._invoke_lambda = self._original

    def invoke(self, fn: Any, event: Any) -> tuple[str, bool, str]:
        payload = json.loads(event) if isinstance(event, (str, bytes)) and event else (event or {})
        with _LOCK:
            self.invocations[fn.function_name] += 1
            saved = dict(os.environ)
            os.environ.update({"AWS_REGION": fn.region, "AWS_DEFAULT_REGION": fn.region,
                               "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                               **{k: str(v) for k, v in (fn.environment_vars or {}).items()}})
            try:
                handler = _import_handler(_code_dir(fn), fn.handler)
                result = handler(payload, Context(fn))
                timeout = _timed_out(fn, payload)
                if timeout:
                    return json.dumps(timeout), True, timeout["errorMessage"]
                return json.dumps(result), False, ""
            except Exception as exc:  # noqa: BLE001 - a Lambda error is data, matched by ErrorEquals
                error = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                         "stackTrace": traceback.format_exception(exc)[-3:]}
                return json.dumps(error), True, traceback.format_exc()
            finally:
                # Restore without clear(): other threads (Map iterations creating clients) read the
                # environment meanwhile, and must never see the credentials vanish.
                for key in [k for k in os.environ if k not in saved]:
                    os.environ.pop(key, None)
                os.environ.update(saved)


def _timed_out(fn: Any, payload: Any) -> dict | None:
    """A `lambda.Invoke=Sandbox.Timedout` fault: the function ran (its side effects stay), its result is lost and
    the invocation reports what Lambda reports when a function exceeds its timeout."""
    injector = faults.active()
    if injector is None or threading.current_thread() is threading.main_thread():
        return None
    # A Step Functions Retry passes the same input again, plus its retry counter where a state asks for it
    # ($$.State.RetryCount as "attempt"): without it, the retried invocation is the same call.
    same = {k: v for k, v in payload.items() if k != "attempt"} if isinstance(payload, dict) else payload
    fault = injector.decide("lambda", "Invoke", {"FunctionName": fn.function_name, "Payload": same}, "function")
    if fault is None:
        return None
    message = faults.FUNCTION_ERRORS[fault.code].format(timeout=int(fn.timeout))
    return {"errorType": fault.code, "errorMessage": f"RequestId: {uuid.uuid4()} Error: {message}"}
