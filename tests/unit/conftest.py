"""Unit tests read what the program registers under Pulumi mocks (the local cloud's deploy records it)."""
from __future__ import annotations

import json

import pytest

from localcloud import LocalCloud


@pytest.fixture(scope="module")
def stacks():
    """Both stacks deployed once per test module (read-only: tests must not change AWS state). Module scope:
    a LocalCloud cannot nest, so other modules remain free to use the function-scoped `cloud` fixture."""
    with LocalCloud() as cloud:
        yield {"primary": cloud.deploy("primary"), "dr": cloud.deploy("dr")}


def policy_statements(deployment, role_name_prefix: str) -> list[dict]:
    """Every statement of the inline policies attached to roles whose logical name starts with the prefix."""
    statements = []
    for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy"):
        if r.name.startswith(role_name_prefix):
            document = r.inputs["policy"]
            statements += (json.loads(document) if isinstance(document, str) else document)["Statement"]
    return statements


def definition(deployment, logical_prefix: str) -> dict:
    (machine,) = [r for r in deployment.of_type("aws:sfn/stateMachine:StateMachine")
                  if r.name.startswith(logical_prefix)]
    return json.loads(machine.inputs["definition"])
