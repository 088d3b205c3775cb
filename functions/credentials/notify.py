"""Publish the credential response's alerts to the stack's alert topic (`alertTopicArn`), from the response's
region (us-east-1 by default) to the topic's, wherever that is.

Step Functions' sns:publish integration cannot reach a topic in another Region; a Lambda can. Two callers:
- the state machine (the report, the report fallback, the failure alert): the event is the SNS Publish request
  without its TopicArn, `{"Subject", "Message", "MessageAttributes"}`;
- the response's regional topic (`credentialAlertTopicArn`, where its ExecutionsFailed alarm notifies), through
  an SNS subscription: the event is SNS's `{"Records": [{"Sns": {...}}]}`, and each notification is forwarded.

SNS limits are kept here, so an alert is never refused for its shape: a subject of at most 100 printable ASCII
characters, a message (with its attributes) of at most 256 KiB, cut with a note if it is longer.

At most once per attempt: the publish is the last thing the function does, and its SDK time is bounded (connect
and read timeouts, 3 attempts: SDK_WORST_CASE_SECONDS) below the function's timeout, so a timeout of this
function means the publish did not complete, and the state machine's retry cannot make a second copy.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from common.errors import InvalidInput
from common.handler import lambda_handler

SUBJECT_LIMIT = 100
MESSAGE_LIMIT = 256 * 1024              # bytes, the message and its attributes together
CUT_NOTE = "\n\n[cut to fit SNS's 256 KiB: the execution's output holds the whole report]"
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 3, 5, 3
# Standard mode waits up to 2**i seconds (jittered) before retry i: 2 + 4 for three attempts.
SDK_WORST_CASE_SECONDS = ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + 2 + 4


class InvalidAlert(InvalidInput):
    """The alert to publish has no message, or TOPIC_ARN is not an SNS topic ARN."""


@lru_cache(maxsize=None)
def sns(region: str) -> Any:
    return boto3.client("sns", region_name=region, config=Config(
        connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "max_attempts": ATTEMPTS}))


def topic() -> tuple[str, str]:
    arn = os.environ.get("TOPIC_ARN", "")
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or not parts[1].startswith("aws") or parts[2] != "sns":
        raise InvalidAlert(f"TOPIC_ARN must be an SNS topic ARN, got {arn!r}")
    return arn, parts[3]


def fit_subject(subject: Any) -> str:
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(subject or "opsflows credentials alert"))
    return text.strip()[:SUBJECT_LIMIT] or "opsflows credentials alert"


def fit_message(message: str, attributes: dict) -> str:
    room = MESSAGE_LIMIT - len(json.dumps(attributes).encode())
    encoded = message.encode()
    if len(encoded) <= room:
        return message
    return encoded[: room - len(CUT_NOTE.encode())].decode("utf-8", "ignore") + CUT_NOTE


def publish(subject: Any, message: Any, attributes: dict | None) -> dict:
    if not isinstance(message, str) or not message:
        raise InvalidAlert(f"the alert has no message (got {type(message).__name__})")
    arn, region = topic()
    attributes = {name: value for name, value in (attributes or {}).items()
                  if isinstance(value, dict) and value.get("StringValue")}   # SNS refuses empty values
    response = sns(region).publish(TopicArn=arn, Subject=fit_subject(subject), Message=fit_message(message, attributes),
                                   MessageAttributes=attributes)
    return {"topicArn": arn, "messageId": response["MessageId"]}


def forwarded(record: dict) -> tuple[str, str, dict]:
    """A notification of the regional topic (the ExecutionsFailed alarm's), as the alert topic gets it."""
    note = record.get("Sns") or {}
    attributes = {"workflow": {"DataType": "String", "StringValue": "credentials"},
                  "forwardedFrom": {"DataType": "String", "StringValue": str(note.get("TopicArn") or "?")}}
    return note.get("Subject") or "opsflows credentials: regional alert", note.get("Message") or "", attributes


@lambda_handler
def handler(event: dict, context: object) -> dict:
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return {"forwarded": [publish(*forwarded(r)) for r in event["Records"] if isinstance(r, dict)]}
    if not isinstance(event, dict):
        raise InvalidAlert(f"expected {{Subject, Message, MessageAttributes}}, got {type(event).__name__}")
    return publish(event.get("Subject"), event.get("Message"), event.get("MessageAttributes"))
