"""Disable one exposed access key: deactivate it (kept for forensics) or delete it. Nothing else changes.

Idempotent: a key already inactive (or already deleted) is reported as such and left alone, so the same
Health event delivered twice changes nothing the second time.

A key is reported "not found" only when IAM says so twice: IAM is eventually consistent, and a live key reported
gone is a key left active. When IAM contradicts itself (it names the key's owner but the owner does not list the
key, or the update says NoSuchEntity while the key still has an owner) the step raises `KeyStateInconsistent`,
which the state machine retries and, if it persists, reports as NOT disabled.
"""
from __future__ import annotations

import os
import time

from botocore.exceptions import ClientError

from common.errors import InvalidInput, OpsflowsError
from common.handler import lambda_handler

from .iam import iam, is_gone, key_status, owner_of
from .model import access_key_id

ACTIONS = ("deactivate", "delete")
CONFIRM_SECONDS = 2.0           # before asking IAM a second time whether a key exists


class InvalidAction(InvalidInput):
    """ACTION is not one of deactivate, delete."""


class KeyStateInconsistent(OpsflowsError):
    """IAM gave contradicting answers about the key (eventual consistency): try again."""


def not_found(result: dict, why: str) -> dict:
    return {**result, "status": "not-found", "changed": False, "detail": why}


def confirmed_owner(key_id: str) -> str | None:
    """The key's owner; None only when IAM says twice, CONFIRM_SECONDS apart, that no such key exists."""
    user = owner_of(key_id)
    if user is None:
        time.sleep(CONFIRM_SECONDS)
        user = owner_of(key_id)
    return user


def inconsistent(key_id: str, user: str, seen: str) -> KeyStateInconsistent:
    return KeyStateInconsistent(f"IAM names {user} as the owner of {key_id}, but {seen}; the key may still be "
                                "active")


def disable_key(key_id: str, action: str, attempt: int = 0) -> dict:
    if action not in ACTIONS:
        raise InvalidAction(f"ACTION must be one of {', '.join(ACTIONS)}, got {action!r}")
    user = confirmed_owner(key_id)
    result = {"accessKeyId": key_id, "action": action, "user": user}
    if user is None:
        return not_found(result, "no such access key in this account: already deleted (with its user?) "
                                 "or not this account's key")
    before = key_status(user, key_id)
    if before is None:
        if owner_of(key_id) is not None:
            raise inconsistent(key_id, user, "the user's access keys do not include it")
        return not_found(result, f"user {user} no longer has this key (deleted meanwhile)")
    result["was"] = before
    if action == "deactivate" and before == "Inactive":
        # A retried attempt finding the key inactive: the attempt before it (timed out) most likely disabled it.
        return {**result, "status": "already-inactive", "changed": False, **({"afterRetry": True} if attempt else {})}
    try:
        if action == "deactivate":
            iam().update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
        else:
            iam().delete_access_key(UserName=user, AccessKeyId=key_id)
    except ClientError as exc:
        if not is_gone(exc):
            raise
        if owner_of(key_id) is not None:
            raise inconsistent(key_id, user, f"{'UpdateAccessKey' if action == 'deactivate' else 'DeleteAccessKey'} "
                                             "answered NoSuchEntity") from None
        return not_found(result, f"the key (or user {user}) was deleted while we acted")
    return {**result, "status": "deactivated" if action == "deactivate" else "deleted", "changed": True}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    attempt = event.get("attempt") if isinstance(event, dict) else 0
    return disable_key(access_key_id(event), os.environ.get("ACTION", "deactivate"),
                       attempt if isinstance(attempt, int) else 0)
