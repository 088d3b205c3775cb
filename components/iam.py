"""IAM policy documents as data: statements name exact ARNs; `Resource: "*"` only where AWS allows nothing else."""
from __future__ import annotations

from typing import Any, Sequence

import pulumi


def allow(actions: str | Sequence[str], resources: Any, *, sid: str | None = None,
          condition: dict | None = None) -> dict:
    """One Allow statement. `resources` may hold Outputs; they resolve when the policy is rendered."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": [actions] if isinstance(actions, str) else list(actions),
        "Resource": resources if isinstance(resources, (list, tuple)) else [resources],
    }
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return statement


def policy_document(statements: Sequence[dict]) -> pulumi.Output[str]:
    """An IAM policy JSON document from statements (which may contain Outputs)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str, *, source_account: Any = None) -> pulumi.Output[str]:
    """Trust policy for one AWS service principal, optionally limited to calls on behalf of one account."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [statement]})


# Actions that support no resource-level permissions, so `Resource: "*"` is the only valid form.
XRAY_WRITE = allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules", "xray:GetSamplingTargets"], "*", sid="XRayOnlySupportsStar")
