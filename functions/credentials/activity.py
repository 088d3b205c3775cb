"""Summarise what one access key did: its CloudTrail events in the lookback window, all pages up to a bound.

LookupEvents allows 2 requests per second per account and Region (LOOKUP_RATE), shared by everything in the
account that calls it. The summary paces itself to its share: the keys of one event are summarised
KEYS_AT_ONCE at a time, so each invocation spaces its calls in a region 1 / (LOOKUP_RATE / keys at once) seconds
apart. Someone else using the quota still throttles it: a throttled page is retried here with jittered
exponential backoff, from the same page (no work lost); if throttling persists the error leaves as
`ThrottlingException` and the state machine retries the step with its own backoff. Paging stops before the
function's timeout (the summary then says it is incomplete, and why) instead of losing everything to it.

Waits use `time.sleep` and `time.monotonic` (looked up at call time), so the local cloud runs them on its clock.
"""
from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

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
TIME_MARGIN_SECONDS = 15.0      # stop paging when less than this is left before the function's timeout


class InvalidActivitySettings(InvalidInput):
    """LOOKBACK_HOURS, MAX_EVENTS, LOOKUP_RATE, KEYS_AT_ONCE or ACTIVITY_REGIONS is unusable."""


def backoff(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt)) + BACKOFF_BASE_SECONDS


class Pacer:
    """At most `rate` LookupEvents requests per second per region from this invocation (0: unpaced)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.last: dict[str, float] = {}
        self.waited = 0.0

    def wait(self, region: str) -> None:
        """Wait until the next request to `region` keeps the pace; call right before each request."""
        now = time.monotonic()
        if self.interval and region in self.last:
            delay = min(self.interval, self.last[region] + self.interval - now)
            if delay > 0:
                time.sleep(delay)
                self.waited += delay
                now = time.monotonic()
        self.last[region] = now


class Deadline:
    """Time left before the function's own timeout (None outside Lambda: no limit)."""

    def __init__(self, context: Any):
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self._remaining = remaining if callable(remaining) else None

    def near(self) -> bool:
        return self._remaining is not None and self._remaining() < TIME_MARGIN_SECONDS * 1000


def key_events(region: str, key_id: str, start: datetime, end: datetime, limit: int, pacer: Pacer,
               deadline: Deadline, stats: dict) -> Iterator[dict]:
    """The key's events in [start, end] in one region, newest first, at most `limit`.

    A hand-written page loop rather than a paginator: a throttled page must be retried with its own
    NextToken, which a paginator cannot resume from mid-iteration; and every request must keep the pace.
    """
    cloudtrail = client("cloudtrail", region)
    params: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key_id}],
                              "StartTime": start, "EndTime": end}
    token: str | None = None
    given = 0
    while given < limit:
        if deadline.near():
            stats["stopped"] = "time"
            return
        page_params = {**params, "MaxResults": min(PAGE_SIZE, limit - given), **({"NextToken": token} if token else {})}
        for attempt in range(THROTTLE_RETRIES + 1):
            pacer.wait(region)
            try:
                page = cloudtrail.lookup_events(**page_params)
                stats["pages"] += 1
                break
            except ClientError as exc:
                if error_code(exc) != "ThrottlingException" or attempt == THROTTLE_RETRIES:
                    raise
                stats["throttled"] += 1
                time.sleep(backoff(attempt))
        for event in page.get("Events", []):
            given += 1
            yield event
        token = page.get("NextToken")
        if not token:
            return


def key_activity(key_id: str, regions: list[str], lookback_hours: int, max_events: int, now: datetime,
                 pacer: Pacer | None = None, deadline: Deadline | None = None) -> dict:
    pacer = pacer or Pacer(0)
    deadline = deadline or Deadline(None)
    start, end = now - timedelta(hours=lookback_hours), now
    events: list[dict] = []
    stats = {"pages": 0, "throttled": 0, "stopped": None}
    for region in regions:
        events.extend(key_events(region, key_id, start, end, max_events - len(events), pacer, deadline, stats))
        if len(events) >= max_events or stats["stopped"]:
            break
    stopped = stats["stopped"] or ("limit" if len(events) >= max_events else None)
    return {"accessKeyId": key_id, "regions": regions, "window": {"start": start.isoformat(), "end": end.isoformat(),
                                                                  "hours": lookback_hours},
            "limit": max_events, "complete": stopped is None, "stopped": stopped,
            "lookups": {"pages": stats["pages"], "throttled": stats["throttled"], "pacedSeconds": round(pacer.waited, 3)},
            **summarise(events)}


def _settings() -> tuple[list[str], int, int, float, int]:
    regions = [r.strip() for r in os.environ.get("ACTIVITY_REGIONS", "").split(",") if r.strip()]
    try:
        hours, limit = int(os.environ.get("LOOKBACK_HOURS", "24")), int(os.environ.get("MAX_EVENTS", "1000"))
        rate, at_once = float(os.environ.get("LOOKUP_RATE", "2")), int(os.environ.get("KEYS_AT_ONCE", "1"))
    except ValueError:
        raise InvalidActivitySettings("LOOKBACK_HOURS, MAX_EVENTS, KEYS_AT_ONCE must be integers, LOOKUP_RATE a "
                                      "number") from None
    if not regions or hours < 1 or limit < 1 or rate < 0 or at_once < 1:
        raise InvalidActivitySettings(f"need ACTIVITY_REGIONS, LOOKBACK_HOURS >= 1, MAX_EVENTS >= 1, LOOKUP_RATE >= 0,"
                                      f" KEYS_AT_ONCE >= 1; got {regions!r}, {hours}, {limit}, {rate}, {at_once}")
    return regions, hours, limit, rate, at_once


def share(rate: float, at_once: int, keys_in_event: Any) -> float:
    """This invocation's part of the account's LookupEvents rate: the keys of one event run `at_once` at a time."""
    keys = keys_in_event if isinstance(keys_in_event, int) and not isinstance(keys_in_event, bool) else 1
    return rate / max(1, min(keys, at_once))


@lambda_handler
def handler(event: dict, context: object) -> dict:
    key_id = event.get("accessKeyId") if isinstance(event, dict) else None
    if not isinstance(key_id, str) or not ACCESS_KEY_ID.match(key_id):
        # Not a key id: there is no activity to look up, and the disable step already says why.
        return {"accessKeyId": key_id, "skipped": "not an IAM access key id"}
    regions, hours, limit, rate, at_once = _settings()
    pacer = Pacer(share(rate, at_once, event.get("keysInEvent")))
    return key_activity(key_id, regions, hours, limit, datetime.now(timezone.utc), pacer, Deadline(context))
