"""Disable one exposed access key: deactivate it (kept for forensics) or delete it. Nothing else changes.

Idempotent: a key already inactive (or already deleted) is reported as such and left alone, so the same
Health event delivered twice changes nothing the second time.
"""
from __future__ import annotations

import os

from botocore.exceptions import ClientError

from common.errors import InvalidInput
from common.handler import lambda_handler

from .iam import iam, is_gone, key_status, owner_of
from .model import access_key_id

ACTIONS = ("deactivate", "delete")


class InvalidAction(InvalidInput):
    """ACTION is not one of deactivate, delete."""


def not_found(result: dict, why: str) -> dict:
    return {**result, "status": "not-found", "changed": False, "detail": why}


def disable_key(key_id: str, action: str) -> dict:
    if action not in ACTIONS:
        raise InvalidAction(f"ACTION must be one of {', '.join(ACTIONS)}, got {action!r}")
    user = owner_of(key_id)
    result = {"accessKeyId": key_id, "action": action, "user": user}
    if user is None:
        return not_found(result, "no such access key in this account: already deleted (with its user?) "
                                 "or not this account's key")
    before = key_status(user, key_id)
    if before is None:
        return not_found(result, f"user {user} no longer has this key (deleted meanwhile)")
    result["was"] = before
    if action == "deactivate" and before == "Inactive":
        return {**result, "status": "already-inactive", "changed": False}
    try:
        if action == "deactivate":
            iam().update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
        else:
            iam().delete_access_key(UserName=user, AccessKeyId=key_id)
    except ClientError as exc:
        if is_gone(exc):
            return not_found(result, f"the key (or user {user}) was deleted while we acted")
        raise
    return {**result, "status": "deactivated" if action == "deactivate" else "deleted", "changed": True}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return disable_key(access_key_id(event), os.environ.get("ACTION", "deactivate"))
