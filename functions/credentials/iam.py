"""The IAM calls on one user's access key. IAM is global: one client, whatever the workflow's region."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from common.aws import client, paginate
from common.errors import error_code

# Returned by IAM when the key, or its user, does not exist (any more).
GONE = "NoSuchEntity"


def iam() -> Any:
    return client("iam")


def is_gone(exc: ClientError) -> bool:
    return error_code(exc) == GONE


def owner_of(key_id: str) -> str | None:
    """The IAM user owning the key, or None when no such key exists in this account (deleted, or never ours)."""
    try:
        return iam().get_access_key_last_used(AccessKeyId=key_id).get("UserName")
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise


def key_status(user: str, key_id: str) -> str | None:
    """Active / Inactive, or None when the user no longer has this key (or the user is gone)."""
    try:
        for key in paginate(iam(), "list_access_keys", "AccessKeyMetadata", UserName=user):
            if key["AccessKeyId"] == key_id:
                return key["Status"]
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    return None
