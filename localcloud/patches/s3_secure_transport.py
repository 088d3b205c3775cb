"""S3 bucket policies: AWS evaluates a statement's Condition; moto ignores Conditions, so the usual TLS-only
statement (Deny everything when aws:SecureTransport is "false") denies every object request.

Requests to AWS through the SDKs always use TLS, so such a statement never matches: this patch evaluates the
`aws:SecureTransport` condition as AWS would for them (true) and leaves every other statement to moto."""
from __future__ import annotations

import json
from typing import Any

from moto.s3.models import FakeBucket


def _insecure_only(statement: dict) -> bool:
    """A statement that applies only to requests without TLS."""
    condition = statement.get("Condition") or {}
    bools = {k.lower(): v for k, v in (condition.get("Bool") or {}).items()}
    value = bools.get("aws:securetransport")
    return set(condition) == {"Bool"} and len(bools) == 1 and str(value).lower() == "false"


def apply() -> None:
    original = FakeBucket.get_permission

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return original(self, action, resource)
        document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        kept = [s for s in statements if not _insecure_only(s)]
        if len(kept) == len(statements):
            return original(self, action, resource)
        saved = self.policy
        self.policy = json.dumps({**document, "Statement": kept}).encode() if kept else None
        try:
            return original(self, action, resource)
        finally:
            self.policy = saved

    FakeBucket.get_permission = get_permission
