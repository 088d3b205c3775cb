"""AWS managed IAM policies (arn:aws:iam::aws:policy/...), attachable and readable as in AWS.

AWS: every account can attach and read AWS managed policies (the Batch service role's, the ECS instance
role's, the compromised-key quarantine policy, ...). moto 5.2.5 knows them only when it loads all ~1,300 at
every IAM backend start (about a second each time); otherwise AttachRolePolicy answers NoSuchEntity.
Here a managed policy is loaded from moto's own copy of AWS's documents the first time it is referenced.
"""
from __future__ import annotations

import json
from functools import lru_cache

from moto.iam.models import AWSManagedPolicy, IAMBackend

PREFIX = "arn:aws:iam::aws:policy/"


@lru_cache(maxsize=1)
def _documents() -> dict[str, dict]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    return json.loads(aws_managed_policies_data)


def _ensure(backend: IAMBackend, policy_arn: str) -> None:
    if policy_arn in backend.managed_policies or not str(policy_arn).startswith(PREFIX):
        return
    name = policy_arn.rsplit("/", 1)[-1]
    data = _documents().get(name)
    if data:
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        if policy.arn == policy_arn:
            backend.managed_policies[policy.arn] = policy


def apply() -> None:
    for method in ("attach_role_policy", "attach_user_policy", "attach_group_policy", "get_policy"):
        original = getattr(IAMBackend, method)

        def loading(self, *args, _original=original, **kwargs):
            arn = kwargs.get("policy_arn", args[0] if args else None)
            _ensure(self, arn)
            return _original(self, *args, **kwargs)

        setattr(IAMBackend, method, loading)
