"""The stack outputs the drill works from (`pulumi stack output --json --show-secrets -s <stack>`), validated."""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import IO, Any

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
ARN = re.compile(r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}):(?P<rest>.+)$")
ROLES = ("primary", "dr")


class DrillSetupError(Exception):
    """The drill cannot start; the message says what is wrong and how to fix it. Nothing was created."""


def read(source: str, stdin: IO[str] | None = None) -> Any:
    """The JSON of `--outputs FILE` or `--outputs -` (standard input)."""
    stdin = stdin or sys.stdin
    if source == "-":
        if stdin.isatty():
            raise DrillSetupError("no stack outputs: pipe them in (pulumi stack output --json --show-secrets -s "
                                  "<stack> | python -m localcloud drill --stack <stack>) or give --outputs FILE")
        text, where = stdin.read(), "standard input"
    else:
        try:
            with open(source, encoding="utf-8") as f:
                text, where = f.read(), source
        except OSError as exc:
            raise DrillSetupError(f"cannot read the stack outputs from {source}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DrillSetupError(f"the stack outputs in {where} are not JSON ({exc}); expected what "
                              "`pulumi stack output --json --show-secrets` prints") from None


@dataclass(frozen=True)
class StackOutputs:
    stack: str                      # primary | dr
    values: dict[str, Any]

    @classmethod
    def parse(cls, stack: str, raw: Any) -> "StackOutputs":
        if stack not in ROLES:
            raise DrillSetupError(f"--stack must be one of {', '.join(ROLES)}, got {stack!r}")
        if not isinstance(raw, dict):
            raise DrillSetupError(f"the stack outputs must be a JSON object of output names, got {type(raw).__name__}")
        outputs = cls(stack, raw)
        for name, value in raw.items():
            if name.endswith("Arn") and (not isinstance(value, str) or not ARN.match(value)):
                raise DrillSetupError(f"output {name} must be an ARN, got {value!r}"
                                      + (" (pass --show-secrets to `pulumi stack output`)" if value == "[secret]" else ""))
        outputs.arn("snapshotStateMachineArn")
        if stack == "primary":
            dr = raw.get("drRegion")
            if dr is None:
                raise DrillSetupError("the outputs have no drRegion: they are the dr stack's (use --stack dr), or the "
                                      "primary stack was deployed before drRegion existed (run pulumi up first)")
            if not isinstance(dr, str) or not REGION.match(dr):
                raise DrillSetupError(f"output drRegion must be a region name, got {dr!r}")
        elif "drRegion" in raw or "credentialResponseStateMachineArn" in raw:
            raise DrillSetupError("the outputs are the primary stack's (they have drRegion): use --stack primary")
        accounts = {ARN.match(v)["account"] for k, v in raw.items() if k.endswith("Arn")}
        if len(accounts) != 1:
            raise DrillSetupError(f"the outputs name several accounts ({', '.join(sorted(accounts))})")
        return outputs

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def get(self, name: str) -> Any:
        if not self.has(name):
            raise DrillSetupError(f"the {self.stack} stack has no output {name}: deploy this version of opsflows "
                                  "(pulumi up) before drilling it")
        return self.values[name]

    def arn(self, name: str) -> str:
        value = self.get(name)
        if not isinstance(value, str) or not ARN.match(value):
            raise DrillSetupError(f"output {name} must be an ARN, got {value!r}")
        return value

    def region_of(self, name: str) -> str:
        return ARN.match(self.arn(name))["region"]

    @property
    def account(self) -> str:
        return ARN.match(self.arn("snapshotStateMachineArn"))["account"]

    @property
    def home_region(self) -> str:
        return self.region_of("snapshotStateMachineArn")

    @property
    def dr_region(self) -> str | None:
        return self.values.get("drRegion") if self.stack == "primary" else None

    @property
    def topics(self) -> dict[str, str]:
        """Every SNS topic the stack exports (outputs named *TopicArn), by output name."""
        return {k: v for k, v in sorted(self.values.items()) if k.endswith("TopicArn") and isinstance(v, str)}

    @property
    def regions(self) -> list[str]:
        """Every region the stack's workflows act in: where its ARNs live, and the DR region."""
        found = {ARN.match(v)["region"] for k, v in self.values.items() if k.endswith("Arn") and isinstance(v, str)}
        found.discard("")
        if self.dr_region:
            found.add(self.dr_region)
        return sorted(found)
