"""What the credential workflow passes between its states: the key, the AWS Health event, the step results."""
from __future__ import annotations

import re
from typing import Any

from common.errors import InvalidInput

# AWS Health (service RISK) events this workflow answers, with what each means for the reader of the alert.
EVENT_CODES = {
    "AWS_RISK_CREDENTIALS_EXPOSED": "the key was found publicly exposed (e.g. in a public code repository)",
    "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED": "AWS suspects the key was exposed",
    "AWS_RISK_CREDENTIALS_COMPROMISED": "AWS believes the key is compromised (used by someone else)",
    "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED": "AWS suspects the key is compromised",
    "AWS_RISK_IAM_QUARANTINE": "AWS attached a quarantine policy to the key's user",
}
# Long-term IAM user access keys: AKIA + 16 characters. (ASIA keys are temporary and cannot be disabled.)
# \Z, not $: $ also matches before a trailing newline, and "AKIA...\n" is no key IAM has.
ACCESS_KEY_ID = re.compile(r"^AKIA[A-Z0-9]{16}\Z")


class InvalidAccessKeyId(InvalidInput):
    """The affected entity is not an IAM user access key id, so nothing can be disabled automatically."""


def access_key_id(event: Any) -> str:
    """The access key id a per-key step acts on (`accessKeyId` of the Map item)."""
    value = event.get("accessKeyId") if isinstance(event, dict) else None
    if not isinstance(value, str) or not ACCESS_KEY_ID.match(value):
        raise InvalidAccessKeyId(f"affected entity {value!r} is not an IAM user access key id (AKIA...)")
    return value


def known_owner(event: dict) -> str | None:
    """The owner an earlier step of this key found (DisableKey's result), if any."""
    disable = event.get("disable")
    return disable.get("user") if isinstance(disable, dict) else None
