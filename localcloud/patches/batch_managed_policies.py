"""AWS managed IAM policies (the Batch service role's and the ECS instance role's), attachable as in AWS.

AWS: every account can attach `arn:aws:iam::aws:policy/...` managed policies.
moto: it knows them only when told to load all ~1,600 at every IAM backend start (slow), otherwise
AttachRolePolicy answers NoSuchEntity. Here a managed policy is loaded from moto's own copy of AWS's
documents the first time a role attaches it.
"""
from __future__ import annotations

import json
from functools import lru_cache

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, IAMBackend


@lru_cache(maxsize=1)
def _documents() -> dict[str, dict]:
    return json.loads(aws_managed_policies_data)


def apply() -> None:
    original = IAMBackend.attach_role_policy

    def attach_role_policy(self: IAMBackend, policy_arn: str, role_name: str) -> None:
        name = policy_arn.rsplit("/", 1)[-1]
        data = _documents().get(name)
        if policy_arn not in self.managed_policies and policy_arn.startswith("arn:aws:iam::aws:policy/") and data:
            policy = AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            if policy.arn == policy_arn:
                self.managed_policies[policy.arn] = policy
        return original(self, policy_arn, role_name)

    IAMBackend.attach_role_policy = attach_role_policy
