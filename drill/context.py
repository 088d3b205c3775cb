"""What every exercise shares: the drill's id and canary naming, AWS clients per region, the clock and output."""
from __future__ import annotations

import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Callable, TypeVar

from botocore.config import Config

from .outputs import StackOutputs

# Canary resources carry both tags. Neither key starts with `opsflows:` or `aws:`, so the snapshot workflow's DR
# copy carries them too (it keeps the source's tags except those): that is how a canary's DR copy is found.
TAG_ID = "opsflows-drill"               # the drill id
TAG_STACK = "opsflows-drill-stack"      # the stack drilled: a rerun removes that stack's leftovers by it
PREFIX = "opsflows-drill-"              # names: IAM users, buckets, queues, executions (opsflows-drill-<id>...)
IAM_PATH = "/opsflows-drill/"           # canary IAM users live under this path, and only they
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="opsflows-drill")

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    poll: float = 5.0               # seconds between looks at AWS while waiting
    deadline: float = 900.0         # seconds one wait may last (a workflow, a DR copy: minutes; an alert)
    keep: bool = False              # leave the canaries in place (the next run of this stack removes them)


def new_id() -> str:
    """A drill id: UTC time and 6 random hex digits (lower case: it is part of bucket names)."""
    return f"{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


_SESSION: list[Any] = []
_CLIENTS: dict[tuple[int, str, str], Any] = {}      # (session, service, region) -> client: making one costs ~10 ms


def default_session() -> Any:
    """One boto3 session per process (credentials from the environment, as the AWS CLI finds them)."""
    if not _SESSION:
        import boto3
        _SESSION.append(boto3.session.Session())
    return _SESSION[0]


class Drill:
    def __init__(self, outputs: StackOutputs, options: Options, *, session: Any = None, drill_id: str | None = None,
                 log: IO[str] | None = None):
        self.outputs, self.options = outputs, options
        self.stack = outputs.stack
        self.id = drill_id or new_id()
        self.name = f"{PREFIX}{self.id}"
        self.session = session or default_session()
        self.log = log or sys.stdout
        self.started = datetime.now(timezone.utc)

    @property
    def tags(self) -> dict[str, str]:
        return {TAG_ID: self.id, TAG_STACK: self.stack}

    def tag_list(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags.items()]

    def client(self, service: str, region: str) -> Any:
        key = (id(self.session), service, region)
        if key not in _CLIENTS:
            _CLIENTS[key] = self.session.client(service, region_name=region, config=CLIENT_CONFIG)
        return _CLIENTS[key]

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    def until(self, probe: Callable[[], T | None]) -> T | None:
        """Look (`probe`) every `poll` seconds until it returns something; None once `deadline` seconds passed."""
        deadline = time.monotonic() + self.options.deadline
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() >= deadline:
                return None
            time.sleep(max(0.0, min(self.options.poll, deadline - time.monotonic())))


def pages(client: Any, operation: str, key: str, **params: Any) -> Any:
    """Every item of a paginated list/describe call."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


def tags_of(items: list[dict] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}
