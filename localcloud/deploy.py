"""Deploy the real Pulumi program into moto: a `pulumi.runtime.Mocks` whose `new_resource` creates each
registered resource in moto (in its region) and returns its real ARN, so the program runs unchanged and
what moto holds afterwards is what AWS would hold."""
from __future__ import annotations

import asyncio
import json
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.sync_await import _sync_await

from .resources import ACCOUNT, CREATORS, Created, load_all

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "opsflows"


@dataclass
class RegisteredResource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str | None
    region: str | None
    custom: bool


@dataclass
class Deployment:
    stack: str
    config: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    resources: list[RegisteredResource] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_token]


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stack's config from Pulumi.<stack>.yaml, with full-key overrides (`opsflows:bucketSync`: {...})."""
    path = PROJECT_ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}")
    config = dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})
    config.update(overrides or {})
    return config


class MotoMocks(pulumi.runtime.Mocks):
    def __init__(self, deployment: Deployment, home_region: str):
        self.deployment, self.home_region = deployment, home_region
        self.provider_regions: dict[str, str] = {}
        self._lock = threading.Lock()

    def _region(self, args: pulumi.runtime.MockResourceArgs) -> str:
        if args.inputs.get("region"):
            return args.inputs["region"]
        if args.provider:       # "urn::id" of an explicit provider
            return self.provider_regions.get(args.provider.rsplit("::", 1)[-1], self.home_region)
        return self.home_region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        # Pulumi registers resources from a thread pool; moto's backends are not thread-safe (CreateRole in one
        # thread while PutRolePolicy iterates the roles in another fails with "dictionary changed size").
        with self._lock:
            return self._new_resource(args)

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        region = self._region(args)
        if args.typ.startswith("pulumi:providers:"):
            provider_id = f"{args.name}-provider"
            self.provider_regions[provider_id] = args.inputs.get("region") or self.home_region
            resource_id, state = provider_id, dict(args.inputs)
        elif not args.custom:
            resource_id, state = None, {}
        elif args.typ in CREATORS:
            resource_id, state = CREATORS[args.typ](Created(args.typ, args.name, dict(args.inputs), region))
        else:
            raise NotImplementedError(
                f"the local cloud cannot create {args.typ} ({args.name}): add a creator in localcloud/resources/")
        self.deployment.resources.append(RegisteredResource(
            urn=f"urn:pulumi:{self.deployment.stack}::{PROJECT}::{args.typ}::{args.name}", type=args.typ, name=args.name, inputs=dict(args.inputs), outputs=state, id=resource_id,
            region=region if args.custom else None, custom=bool(args.custom)))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/localcloud",
                    "userId": "AIDALOCALCLOUD", "id": ACCOUNT}, []
        if args.token == "aws:index/getRegion:getRegion":
            region = args.args.get("region") or args.args.get("name") or self.home_region
            return {"region": region, "name": region, "id": region,
                    "endpoint": f"{region}.amazonaws.com", "description": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise NotImplementedError(f"the local cloud has no answer for invoke {args.token}")


def deploy(stack: str, overrides: dict[str, Any] | None = None) -> Deployment:
    """Run __main__.py of the project for `stack` under MotoMocks; return its outputs and resources.

    Must run inside an active moto mock (the LocalCloud does that)."""
    load_all()
    config = stack_config(stack, overrides)
    home_region = config.get("aws:region")
    deployment = Deployment(stack=stack, config=config)

    _reset_pulumi_runtime()
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    pulumi.runtime.set_mocks(MotoMocks(deployment, home_region), project=PROJECT, stack=stack, preview=False)

    def program() -> Any:
        sys.path.insert(0, str(PROJECT_ROOT))
        try:
            runpy.run_path(str(PROJECT_ROOT / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(PROJECT_ROOT))
        return pulumi.Output.from_input(pulumi_settings.get_root_resource().outputs).future()

    outputs = _sync_await(_run(program))
    deployment.outputs = dict(outputs or {})
    return deployment


async def _run(program: Any) -> Any:
    """Run the program, then wait for every registration (and its RPCs) to finish; re-raise its error."""
    result: dict[str, Any] = {}

    async def body() -> None:
        result["outputs"] = await program()

    await pulumi.runtime.stack.run_pulumi_func(lambda: body())
    return result.get("outputs")


def _reset_pulumi_runtime() -> None:
    """A fresh event loop, runtime settings and config, so deployments (and tests) never see each other's."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi_settings.reset_options()
    pulumi_config.set_all_config({})
