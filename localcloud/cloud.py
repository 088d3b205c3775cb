"""LocalCloud: one in-memory, multi-region AWS (moto) with the opsflows program deployed into it and its
state machines run for real, handlers in-process."""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Callable

from moto import mock_aws
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from . import clock, events, faults, patches
from .deploy import Deployment, deploy
from .faults import Fault, FaultInjector
from .resources import ACCOUNT, client
from .runtime import Runtime
from .workload import Metrics, Workload

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "batch": {"use_docker": False},
               "core": {"reset_boto3_session": True}}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                    # No public AMIs (and their ~1,300 snapshots per region): describes stay about our resources.
                    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
                    # Handlers' structured logs stay quiet unless asked for (LOCALCLOUD_LOG_LEVEL=INFO).
                    "POWERTOOLS_LOG_LEVEL": os.environ.get("LOCALCLOUD_LOG_LEVEL", "WARNING")}


class IdleTimeout(TimeoutError):
    """Executions were still running when run_until_idle gave up."""


class LocalCloud:
    def __init__(self, seed: int = 0) -> None:
        self.metrics = Metrics()
        self.deployments: dict[str, Deployment] = {}
        self.faults = FaultInjector(seed)
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._runtime = Runtime()
        self._workload = Workload(self.metrics, self.faults)
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle -------------------------------------------------------------------------------------
    _active: "LocalCloud | None" = None

    def __enter__(self) -> "LocalCloud":
        if LocalCloud._active is not None:
            raise RuntimeError("a LocalCloud is already running in this process: moto's state is global, "
                               "so clouds cannot nest (close the other one first)")
        LocalCloud._active = self
        for key, value in FAKE_CREDENTIALS.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        self._mock.start()
        clock.restart()
        clock.install_sdk_backoff()
        faults.activate(self.faults)
        patches.apply_all()
        patches.reset_all()
        events.install()
        _record_publishes()
        self._published_from = len(PUBLISHED)
        self._runtime.invocations = self.metrics.lambda_invocations
        self._runtime.install()
        self._workload.install()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.run_until_idle(timeout=30, raise_on_timeout=False)
        finally:
            self._workload.uninstall()
            self._runtime.uninstall()
            self._mock.stop()
            faults.activate(None)
            LocalCloud._active = None
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    # -- deploying -------------------------------------------------------------------------------------
    def deploy(self, stack: str, config: dict[str, Any] | None = None) -> Deployment:
        with self._workload.paused():          # deploying is the harness's work, not the workload's
            deployment = deploy(stack, config)
        self.deployments[stack] = deployment
        return deployment

    def client(self, service: str, region: str = "us-west-2") -> Any:
        return client(service, region)

    # -- running ---------------------------------------------------------------------------------------
    def start(self, state_machine_arn: str, execution_input: Any = None, name: str | None = None) -> str:
        region = state_machine_arn.split(":")[3]
        params = {"stateMachineArn": state_machine_arn, "input": json.dumps(execution_input or {})}
        if name:
            params["name"] = name
        return self.client("stepfunctions", region).start_execution(**params)["executionArn"]

    def emit(self, event: dict, region: str = "us-east-1") -> list[dict]:
        return events.emit(ACCOUNT, region, event)

    def inject(self, *specs: str | Fault) -> list[Fault]:
        """Put faults in force (`"s3.CopyObject=SlowDown:2"`, see localcloud.faults) until `clear_errors`."""
        return self.faults.extend(specs)

    def inject_error(self, service: str, operation: str, code: str, message: str | None = None, *,
                     when: Callable[[dict], bool] | None = None, times: int | None = None) -> Fault:
        """One API fault with a predicate on the call's parameters (`when`) and an optional count (`times`)."""
        return self.faults.add(Fault(faults.SERVICE_ALIASES.get(service, service), operation, code,
                                     count=times, message=message, when=when))

    def clear_errors(self) -> None:
        """No fault fails a call from now on (what they did stays in `faults.report()`)."""
        self.faults.clear()

    def _regions(self) -> set[str]:
        """Regions where Step Functions has been used (moto creates a region's backend on first use; iterating
        every region's backend would create them all, slowly)."""
        return set(dict.keys(stepfunctions_parser_backends[ACCOUNT]))

    def _all_executions(self) -> list[Any]:
        found = []
        for region in sorted(self._regions()):
            for machine in list(stepfunctions_parser_backends[ACCOUNT][region].state_machines):
                found.extend(machine.executions)
        return found

    def running(self) -> int:
        return sum(1 for e in self._all_executions() if e.exec_status is None or e.exec_status.value == "RUNNING")

    def run_until_idle(self, timeout: float = 120, raise_on_timeout: bool = True) -> None:
        """Wait until no execution runs in any region and no modelled operation (a pending snapshot copy, whose
        completion starts executions) is under way; new ones started meanwhile are waited for too."""
        deadline = time.monotonic() + timeout
        while self.running() or clock.busy():
            if time.monotonic() > deadline:
                if raise_on_timeout:
                    raise IdleTimeout(f"{self.running()} execution(s) still running, {clock.busy()} operation(s) "
                                      f"under way after {timeout}s")
                return
            time.sleep(0.02)

    # -- reading results -------------------------------------------------------------------------------
    def execution(self, execution_arn: str) -> dict:
        region = execution_arn.split(":")[3]
        sfn = self.client("stepfunctions", region)
        described = sfn.describe_execution(executionArn=execution_arn)
        history = list(_pages(sfn, "get_execution_history", "events", executionArn=execution_arn))
        output = described.get("output")
        return {"arn": execution_arn, "stateMachineArn": described["stateMachineArn"],
                "status": described["status"], "input": json.loads(described.get("input") or "null"),
                "output": json.loads(output) if output else None,
                "error": described.get("error"), "cause": described.get("cause"),
                "startDate": described.get("startDate"), "stopDate": described.get("stopDate"),
                "history": history, "states": entered_states(history)}

    def executions(self, state_machine_arn: str | None = None) -> list[dict]:
        chosen = [e for e in self._all_executions()
                  if state_machine_arn is None or e.state_machine_arn == state_machine_arn]
        return [self.execution(e.execution_arn) for e in sorted(chosen, key=lambda e: e.start_date)]

    def alerts(self) -> list[dict]:
        """Every message published to an alert topic of a deployed stack since this cloud started, oldest first."""
        topics = {r.outputs["arn"] for d in self.deployments.values() for r in d.of_type("aws:sns/topic:Topic")}
        return [m for m in PUBLISHED[self._published_from:] if m["topic"] in topics]


# Every SNS publish in this process (SNS keeps no history of its own to read back).
PUBLISHED: list[dict] = []


def _record_publishes() -> None:
    from moto.sns.models import SNSBackend
    if getattr(SNSBackend.publish, "_localcloud", False):
        return
    original = SNSBackend.publish

    def publish(self, message, arn=None, phone_number=None, subject=None, message_attributes=None, **kwargs):
        result = original(self, message, arn=arn, phone_number=phone_number, subject=subject,
                          message_attributes=message_attributes, **kwargs)
        PUBLISHED.append({"topic": arn, "subject": subject, "message": message,
                          "attributes": {k: v.get("Value", v.get("StringValue")) if isinstance(v, dict) else v
                                         for k, v in (message_attributes or {}).items()}})
        return result

    publish._localcloud = True
    SNSBackend.publish = publish


def _pages(client: Any, operation: str, key: str, **params: Any) -> Any:
    token = None
    while True:
        page = getattr(client, operation)(**params, **({"nextToken": token} if token else {}))
        yield from page[key]
        token = page.get("nextToken")
        if not token:
            return


def entered_states(history: list[dict]) -> list[str]:
    """The names of the states an execution entered, in order."""
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
