"""Summarise what one access key did: its CloudTrail events in the lookback window, all pages up to a bound.

LookupEvents allows 2 requests per second per account and region. A throttled page is retried here with
jittered exponential backoff, from the same page (no work lost); if throttling persists the error leaves
as `ThrottlingException` and the state machine retries the step with its own backoff.
"""
from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

from botocore.exceptions import ClientError

from common.aws import client
from common.errors import InvalidInput, error_code
from common.handler import lambda_handler

from .model import ACCESS_KEY_ID
from .summary import summarise

PAGE_SIZE = 50                  # LookupEvents' maximum MaxResults
THROTTLE_RETRIES = 5
BACKOFF_BASE_SECONDS = 0.5      # LookupEvents refills at 2 requests/s: half a second, doubling
BACKOFF_CAP_SECONDS = 8.0


class InvalidActivitySettings(InvalidInput):
    """LOOKBACK_HOURS, MAX_EVENTS or ACTIVITY_REGIONS is unusable."""


def backoff(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt)) + BACKOFF_BASE_SECONDS


def key_events(region: str, key_id: str, start: datetime, end: datetime, limit: int,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[dict]:
    """The key's events in [start, end] in one region, newest first, at most `limit`.

    A hand-written page loop rather than a paginator: a throttled page must be retried with its own
    NextToken, which a paginator cannot resume from mid-iteration.
    """
    cloudtrail = client("cloudtrail", region)
    params: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key_id}],
                              "StartTime": start, "EndTime": end}
    token: str | None = None
    given = 0
    while given < limit:
        page_params = {**params, "MaxResults": min(PAGE_SIZE, limit - given), **({"NextToken": token} if token else {})}
        for attempt in range(THROTTLE_RETRIES + 1):
            try:
                page = cloudtrail.lookup_events(**page_params)
                break
            except ClientError as exc:
                if error_code(exc) != "ThrottlingException" or attempt == THROTTLE_RETRIES:
                    raise
                sleep(backoff(attempt))
        for event in page.get("Events", []):
            given += 1
            yield event
        token = page.get("NextToken")
        if not token:
            return


def key_activity(key_id: str, regions: list[str], lookback_hours: int, max_events: int, now: datetime,
                 sleep: Callable[[float], None] = time.sleep) -> dict:
    start, end = now - timedelta(hours=lookback_hours), now
    events: list[dict] = []
    for region in regions:
        events.extend(key_events(region, key_id, start, end, max_events - len(events), sleep))
        if len(events) >= max_events:
            break
    return {"accessKeyId": key_id, "regions": regions, "window": {"start": start.isoformat(), "end": end.isoformat(),
                                                                  "hours": lookback_hours},
            "limit": max_events, "complete": len(events) < max_events, **summarise(events)}


def _settings() -> tuple[list[str], int, int]:
    regions = [r.strip() for r in os.environ.get("ACTIVITY_REGIONS", "").split(",") if r.strip()]
    try:
        hours, limit = int(os.environ.get("LOOKBACK_HOURS", "24")), int(os.environ.get("MAX_EVENTS", "1000"))
    except ValueError:
        raise InvalidActivitySettings("LOOKBACK_HOURS and MAX_EVENTS must be integers") from None
    if not regions or hours < 1 or limit < 1:
        raise InvalidActivitySettings(f"need ACTIVITY_REGIONS, LOOKBACK_HOURS >= 1, MAX_EVENTS >= 1; got "
                                      f"{regions!r}, {hours}, {limit}")
    return regions, hours, limit


@lambda_handler
def handler(event: dict, context: object) -> dict:
    key_id = event.get("accessKeyId") if isinstance(event, dict) else None
    if not isinstance(key_id, str) or not ACCESS_KEY_ID.match(key_id):
        # Not a key id: there is no activity to look up, and the disable step already says why.
        return {"accessKeyId": key_id, "skipped": "not an IAM access key id"}
    regions, hours, limit = _settings()
    return key_activity(key_id, regions, hours, limit, datetime.now(timezone.utc))
