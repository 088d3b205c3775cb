"""Read the AWS Health event before anything changes: what it is, which access keys it names, and what it names
that no automation can act on.

An event this workflow cannot act on at all (not an AWS Health RISK event, an unknown event code, no affected
entities, or none of them an access key id) raises `InvalidHealthEvent` naming the problem: the execution alerts
once and ends FAILED with IAM untouched. Otherwise the output is the event, compact and well-typed, for every
later state: the distinct access key ids to contain (`accessKeys`, at most MAX_KEYS), the entities that are not
access key ids with the reason (`rejected`), the keys beyond MAX_KEYS (`unhandled`); the report names the last
two as "act now", and the execution ends FAILED if there are any.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from common.errors import InvalidInput
from common.handler import lambda_handler

from .model import ACCESS_KEY_ID, EVENT_CODES

# Keys contained per event. AWS Health names one key per event; the bound keeps the per-key results (about 5 KB
# each) far below Step Functions' 256 KiB state, and the alert below SNS's 256 KiB message.
MAX_KEYS = 20
SHOWN = 80                  # characters of a value quoted back in an error
LISTED = 20                 # rejected entities listed (the rest are counted)
UNHANDLED_LISTED = 200      # keys beyond MAX_KEYS listed for the reader to disable by hand (the rest are counted)


class InvalidHealthEvent(InvalidInput):
    """The execution input is not an AWS Health credential-risk event naming at least one access key id."""


def show(value: Any) -> str:
    """A value quoted back to the reader, short whatever it was."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def why_not_a_key(value: Any) -> str | None:
    """Why an entity value is not an IAM user access key id this workflow can disable, or None when it is one."""
    if not isinstance(value, str):
        return f"entityValue is {kind(value)} ({show(value)}), not an access key id"
    if ACCESS_KEY_ID.match(value):
        return None
    if value == "":
        return "entityValue is an empty string, not an access key id"
    if value.startswith("arn:"):
        return f"entityValue {show(value)} is an ARN, not an access key id (AKIA...): find the key of that principal by hand"
    if value.startswith("ASIA"):
        return (f"entityValue {show(value)} is a temporary (STS) key id: it cannot be disabled, it expires; revoke the "
                "sessions of the role or user that issued it")
    return f"entityValue {show(value)} is not an IAM user access key id (AKIA followed by 16 upper-case letters or digits)"


def event_time(value: Any, started: Any) -> str:
    """The event's time (ISO 8601, UTC); the execution's start when the event carries none."""
    if value is None:
        value = started
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
            return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            pass
    raise InvalidHealthEvent(f"time is {show(value)}, not the event's ISO 8601 time (e.g. 2024-05-01T03:00:00Z)")


def check_event(event: Any, started: Any = None) -> dict:
    if not isinstance(event, dict):
        raise InvalidHealthEvent(f"the input is {kind(event)} ({show(event)}), not an AWS Health event (a JSON object)")
    if event.get("source") != "aws.health":
        raise InvalidHealthEvent(f"source is {show(event.get('source'))}, not 'aws.health': not an AWS Health event")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidHealthEvent("detail is missing: not an AWS Health event" if detail is None else
                                 f"detail is {kind(detail)} ({show(detail)}), not an object")
    if detail.get("service") != "RISK":
        raise InvalidHealthEvent(f"detail.service is {show(detail.get('service'))}: another service's Health event, "
                                 "not a credential risk (RISK) event")
    code = detail.get("eventTypeCode")
    if code not in EVENT_CODES:
        raise InvalidHealthEvent(f"detail.eventTypeCode {show(code)} is unknown: not a credential risk event code "
                                 f"(one of {', '.join(EVENT_CODES)})")
    entities = detail.get("affectedEntities")
    if entities is None:
        raise InvalidHealthEvent("detail.affectedEntities is missing: the event names no access key")
    if not isinstance(entities, list):
        raise InvalidHealthEvent(f"detail.affectedEntities is {kind(entities)} ({show(entities)}), not a list")
    if not entities:
        raise InvalidHealthEvent("detail.affectedEntities is empty: the event names no access key")
    time = event_time(event.get("time"), started)

    keys: list[str] = []
    rejected: list[dict] = []
    for i, entity in enumerate(entities):
        value = entity.get("entityValue") if isinstance(entity, dict) else None
        reason = (f"is {kind(entity)} ({show(entity)}), not an object with an entityValue"
                  if not isinstance(entity, dict) else
                  "has no entityValue" if "entityValue" not in entity else why_not_a_key(value))
        if reason:
            rejected.append({"entity": show(value if isinstance(entity, dict) else entity),
                             "reason": f"affectedEntities[{i}] {reason}"})
        elif value not in keys:
            keys.append(value)
    if not keys:
        reasons = "; ".join(r["reason"] for r in rejected[:5]) + (f"; +{len(rejected) - 5} more" if len(rejected) > 5 else "")
        raise InvalidHealthEvent(f"no affected entity is an access key id this workflow can disable: {reasons}")

    handled = keys[:MAX_KEYS]
    return {
        "id": event.get("id"), "time": time, "account": event.get("account"), "region": event.get("region"),
        "source": "aws.health",
        "detail": {"eventArn": detail.get("eventArn"), "service": "RISK", "eventTypeCode": code,
                   "startTime": detail.get("startTime")},
        "accessKeys": [{"accessKeyId": k} for k in handled],
        "accessKeyCount": len(handled),
        "accessKeyIds": ",".join(handled),
        "duplicates": sum(1 for e in entities if isinstance(e, dict) and isinstance(e.get("entityValue"), str)
                          and ACCESS_KEY_ID.match(e["entityValue"])) - len(keys),
        "rejected": rejected[:LISTED], "rejectedTotal": len(rejected),
        "unhandled": keys[MAX_KEYS:MAX_KEYS + UNHANDLED_LISTED], "unhandledTotal": len(keys[MAX_KEYS:]),
    }


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return check_event(event.get("event") if isinstance(event, dict) else None,
                       event.get("startTime") if isinstance(event, dict) else None)
