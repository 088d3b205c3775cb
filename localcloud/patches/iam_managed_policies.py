"""AWS managed policies the workflows attach.

AWS: every account can attach AWS managed policies (arn:aws:iam::aws:policy/...). moto 5.2.5 knows them
only when `iam.load_aws_managed_policies` is on, and then parses all ~1,300 on every reset (about a second).
Here: the few opsflows attaches exist in every IAM backend, as AWS publishes them.
"""
from __future__ import annotations

import json
from functools import lru_cache

from moto.iam.models import AWSManagedPolicy, IAMBackend

# The compromised-key quarantine policy the credential response attaches (and its older versions).
NAMES = ("AWSCompromisedKeyQuarantine", "AWSCompromisedKeyQuarantineV2", "AWSCompromisedKeyQuarantineV3")


@lru_cache(maxsize=1)
def _documents() -> dict:
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    every = json.loads(aws_managed_policies_data)
    return {name: every[name] for name in NAMES}


def apply() -> None:
    original = IAMBackend.__init__

    def __init__(self, region_name: str, account_id: str) -> None:
        original(self, region_name, account_id)
        for name, data in _documents().items():
            policy = AWSManagedPolicy.from_data(name, account_id, region_name, data)
            self.managed_policies.setdefault(policy.arn, policy)

    IAMBackend.__init__ = __init__
