"""The offline policy verdict: the policy pack's own policies over the resources the program registers.

`python -m localcloud policy --stack primary|dr|primary+genomics [--config FILE] [--set KEY=JSON ...]`
deploys the stack into the local cloud, calls every policy of `policy/` the way `pulumi preview --policy-pack policy` does (resource
policies per resource with its inputs, stack policies once with every resource's state), prints the
violations like a preview and exits 1 when any mandatory policy is violated. It needs no credentials.

`--config` takes the same JSON as `pulumi preview --policy-pack-config`: {"policy-name": {"key": value}} or
{"policy-name": "advisory"|"mandatory"|"disabled"}.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml
from pulumi_policy import (EnforcementLevel, PolicyCustomTimeouts, PolicyProviderResource, PolicyResource,
                           PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy,
                           StackValidationArgs, StackValidationPolicy)

from policy.opsflows_policies import POLICIES

PACK = "opsflows"
PACK_VERSION = yaml.safe_load((Path(__file__).resolve().parent.parent / "policy" / "PulumiPolicy.yaml")
                              .read_text())["version"]


def genomics_on() -> dict[str, Any]:
    """Stack config enabling genomics on a network made in the running local cloud (moto's Batch checks that
    subnets and security groups exist). Genomics is off in both stack files; docs, lints and the policy tests
    render it too, on the primary stack."""
    try:
        from .scenarios.genomics import genomics_config, network
    except ImportError:          # the genomics capability has not landed: there is nothing to enable
        return {}
    return genomics_config(*network())


VARIANTS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "primary": ("primary", dict), "dr": ("dr", dict), "primary+genomics": ("primary", genomics_on)}


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str                 # "mandatory" or "advisory"
    description: str
    message: str
    resource_type: str = ""
    name: str = ""

    def render(self) -> str:
        where = f"  ({self.resource_type}: {self.name})" if self.resource_type else ""
        return f"    - [{self.level}]  {self.policy}{where}\n      {self.description}\n      {self.message}"


def urn(stack: str, resource: Any) -> str:
    return getattr(resource, "urn", "") or f"urn:pulumi:{stack}::opsflows::{resource.type}::{resource.name}"


def policy_config(stack_config: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each policy's config: its schema defaults, then the stack's tags, then `overrides` (--policy-pack-config)."""
    config: dict[str, Any] = {}
    for policy in POLICIES:
        schema = policy.config_schema.properties if policy.config_schema else {}
        config[policy.name] = {k: v["default"] for k, v in schema.items() if "default" in v}
    tags = stack_config.get("opsflows:tags")
    config["required-tags"]["requiredTags"] = sorted(json.loads(tags) if isinstance(tags, str) else tags or {})
    for name, value in (overrides or {}).items():
        if name not in config:
            raise KeyError(f"policy config names unknown policy {name!r}; policies: {', '.join(config)}")
        config[name].update({"enforcementLevel": value} if isinstance(value, str) else value)
    return config


def _level(policy: Any, config: Mapping[str, Any]) -> EnforcementLevel:
    if "enforcementLevel" in config:
        return EnforcementLevel(config["enforcementLevel"])
    return policy.enforcement_level or EnforcementLevel.MANDATORY


def evaluate(resources: Sequence[Any], stack: str, stack_config: Mapping[str, Any],
             overrides: Mapping[str, Any] | None = None) -> list[Violation]:
    """Run every policy over `resources` (objects with .type, .name, .inputs, .outputs, .custom, optional .urn,
    .id — the local cloud's registered resources)."""
    config = policy_config(stack_config, overrides)
    custom = [r for r in resources if getattr(r, "custom", True) and not r.type.startswith("pulumi:")]
    default_tags = stack_config.get("aws:defaultTags")
    provider = PolicyProviderResource("pulumi:providers:aws", {"defaultTags": default_tags} if default_tags else {},
                                      f"urn:pulumi:{stack}::opsflows::pulumi:providers:aws::default", "default")
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    found: list[Violation] = []
    for policy in POLICIES:
        settings = {k: v for k, v in config[policy.name].items() if k != "enforcementLevel"}
        level = _level(policy, config[policy.name])
        if level == EnforcementLevel.DISABLED:
            continue
        shown = "advisory" if level == EnforcementLevel.ADVISORY else "mandatory"
        if isinstance(policy, ResourceValidationPolicy):
            for r in custom:
                def report(message: str, _urn: str | None = None, r=r) -> None:
                    found.append(Violation(policy.name, shown, policy.description, message, r.type, r.name))
                policy.validate(ResourceValidationArgs(r.type, r.inputs, urn(stack, r), r.name, opts, provider,
                                                       settings), report)
        elif isinstance(policy, StackValidationPolicy):
            by_urn = {urn(stack, r): r for r in custom}
            states = [PolicyResource(r.type, {"id": getattr(r, "id", None), **(r.outputs or r.inputs)},
                                     u, r.name, opts, provider, None, [], {}) for u, r in by_urn.items()]

            def report_stack(message: str, at: str | None = None) -> None:
                r = by_urn.get(at or "")
                found.append(Violation(policy.name, shown, policy.description, message,
                                       r.type if r else "", r.name if r else ""))
            policy.validate(StackValidationArgs(states, settings), report_stack)
    return found


def render(stack: str, violations: Iterable[Violation], checked: int) -> str:
    violations = list(violations)
    mandatory = sum(v.level == "mandatory" for v in violations)
    mark = "❌" if mandatory else ("⚠️" if violations else "✅")
    lines = [f"Policies (stack {stack}, offline: {len(POLICIES)} policies over {checked} resources):",
             f"    {mark} {PACK}@v{PACK_VERSION}"]
    lines += [v.render() for v in violations]
    lines.append(f"{mandatory} mandatory, {len(violations) - mandatory} advisory violation(s)")
    return "\n".join(lines)


def deploy(stack: str, overrides: Callable[[], Mapping[str, Any]] = dict, extra: Mapping[str, Any] | None = None) -> Any:
    """`stack` deployed into a fresh local cloud with `overrides()` (made inside it) and `extra` config."""
    from . import LocalCloud
    with LocalCloud() as cloud:
        return cloud.deploy(stack, config={**overrides(), **(extra or {})})


@functools.lru_cache(maxsize=None)
def deployed(variant: str) -> Any:
    """One of VARIANTS deployed into a fresh local cloud, once per process (its resources are plain data)."""
    stack, overrides = VARIANTS[variant]
    return deploy(stack, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud policy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, choices=sorted(VARIANTS),
                        help="primary, dr, or primary+genomics (the primary stack with genomics enabled)")
    parser.add_argument("--config", help="policy pack config JSON (as for --policy-pack-config)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="stack config override, e.g. 'opsflows:logRetentionDays=90'")
    args = parser.parse_args(argv)
    stack, overrides = VARIANTS[args.stack]
    extra = {k: json.loads(v) for k, _, v in (item.partition("=") for item in args.set)}
    pack_config = json.loads(Path(args.config).read_text()) if args.config else None
    dep = deploy(stack, overrides, extra)
    violations = evaluate(dep.resources, stack, dep.config, pack_config)
    print(render(args.stack, violations, checked=sum(1 for r in dep.resources if r.custom)))
    return 1 if any(v.level == "mandatory" for v in violations) else 0


if __name__ == "__main__":
    sys.exit(main())
