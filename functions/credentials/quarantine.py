"""Attach AWS's managed compromised-key quarantine policy to the key's user (once)."""
from __future__ import annotations

from botocore.exceptions import ClientError

from common.aws import paginate
from common.handler import lambda_handler

from .iam import iam, is_gone, owner_of
from .model import access_key_id, known_owner

# The current version of AWS's own quarantine policy (AWS attaches it itself for AWS_RISK_IAM_QUARANTINE).
QUARANTINE_POLICY_ARN = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"


def quarantine_user(key_id: str, user: str | None) -> dict:
    user = user or owner_of(key_id)
    result = {"accessKeyId": key_id, "user": user, "policyArn": QUARANTINE_POLICY_ARN}
    if user is None:
        return {**result, "status": "not-found", "changed": False, "detail": "no user owns this key any more"}
    try:
        attached = {p["PolicyArn"] for p in paginate(iam(), "list_attached_user_policies", "AttachedPolicies",
                                                      UserName=user)}
    except ClientError as exc:
        if is_gone(exc):
            return {**result, "status": "not-found", "changed": False, "detail": f"user {user} no longer exists"}
        raise
    if QUARANTINE_POLICY_ARN in attached:
        return {**result, "status": "already-attached", "changed": False}
    # NoSuchEntity here (user deleted this instant, or the policy unknown) is an error worth alerting on.
    iam().attach_user_policy(UserName=user, PolicyArn=QUARANTINE_POLICY_ARN)
    return {**result, "status": "attached", "changed": True}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return quarantine_user(access_key_id(event), known_owner(event))
