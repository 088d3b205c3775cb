"""Revoke the key's user's temporary credentials issued before now: an inline Deny on `aws:TokenIssueTime`.

Long-term keys carry no token issue time, so the Deny touches only session credentials (e.g. from
GetSessionToken) an attacker may have minted with the exposed key. Idempotent per Health event: when the
policy already revokes everything issued before the event, a second run leaves it as it is.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from common.errors import InvalidInput
from common.handler import lambda_handler

from .iam import iam, is_gone, owner_of
from .model import access_key_id, known_owner

POLICY_NAME = "opsflows-revoke-older-sessions"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class InvalidEventTime(InvalidInput):
    """The step's input lacks the Health event's time (ISO 8601), needed to tell a repeat delivery."""


def parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def revoke_document(cutoff: datetime) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "RevokeOlderSessions", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff.strftime(TIME_FORMAT)}}}]}


def current_cutoff(user: str) -> datetime | None:
    """The cutoff of the revoke policy the user already has, if any."""
    try:
        document = iam().get_user_policy(UserName=user, PolicyName=POLICY_NAME)["PolicyDocument"]
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    if isinstance(document, str):
        document = json.loads(document)
    for statement in document.get("Statement", []):
        value = statement.get("Condition", {}).get("DateLessThan", {}).get("aws:TokenIssueTime")
        try:
            return parse_time(value)
        except ValueError:
            continue
    return None


def revoke_sessions(key_id: str, user: str | None, event_time: datetime, now: datetime) -> dict:
    user = user or owner_of(key_id)
    result = {"accessKeyId": key_id, "user": user, "policyName": POLICY_NAME}
    if user is None:
        return {**result, "status": "not-found", "changed": False, "detail": "no user owns this key any more"}
    try:
        existing = current_cutoff(user)
        if existing is not None and existing >= event_time:
            return {**result, "status": "already-revoked", "changed": False,
                    "cutoff": existing.strftime(TIME_FORMAT)}
        cutoff = now.astimezone(timezone.utc).replace(microsecond=0)
        iam().put_user_policy(UserName=user, PolicyName=POLICY_NAME,
                              PolicyDocument=json.dumps(revoke_document(cutoff)))
    except ClientError as exc:
        if is_gone(exc):
            return {**result, "status": "not-found", "changed": False, "detail": f"user {user} no longer exists"}
        raise
    return {**result, "status": "revoked", "changed": True, "cutoff": cutoff.strftime(TIME_FORMAT)}


@lambda_handler
def handler(event: dict, context: object) -> dict:
    try:
        event_time = parse_time(event.get("eventTime"))
    except ValueError:
        raise InvalidEventTime(f"eventTime must be the Health event's ISO 8601 time, got "
                               f"{event.get('eventTime')!r}") from None
    return revoke_sessions(access_key_id(event), known_owner(event), event_time, datetime.now(timezone.utc))
