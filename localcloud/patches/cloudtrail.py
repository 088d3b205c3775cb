"""CloudTrail LookupEvents with seeded events.

AWS: LookupEvents returns the account's management events of the last 90 days in the region called,
newest first, filtered by at most one LookupAttribute (EventId, EventName, ReadOnly, Username,
ResourceType, ResourceName, EventSource, AccessKeyId) and an inclusive StartTime/EndTime window, at most
50 per page (MaxResults) with an opaque NextToken that is only valid for the same query.
moto 5.2.5: no `lookup_events` at all (NotImplementedError), and nothing records events.

Here: tests and scenarios seed events per account and region with `seed_events` (built with `event`), and
LookupEvents serves them with AWS's filtering, ordering, paging and validation errors.

Quota. AWS: LookupEvents is limited to 2 requests per second per account per Region (not adjustable); beyond it
the call fails with ThrottlingException ("Rate exceeded"), which the SDK retries with backoff. moto: no limit.
Here: a token bucket per account and Region (2 tokens, refilled at 2 per second) on the local cloud's one clock
(simulated seconds, localcloud.clock); `lookup_stats` counts the requests served and refused. The clock runs
the local cloud's own work too (about 2.5 ms a request, 2.5 simulated seconds at the default scale of 0.001), so
the quota bites at scales where that work is small next to half a second (LOCALCLOUD_TIME_SCALE >= ~0.01).
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from moto.cloudtrail.models import cloudtrail_backends
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError

from .. import clock

ATTRIBUTES = {  # LookupAttribute key -> how an event matches it
    "EventId": lambda e, v: e["EventId"] == v,
    "EventName": lambda e, v: e["EventName"] == v,
    "ReadOnly": lambda e, v: e["ReadOnly"] == v,
    "Username": lambda e, v: e.get("Username") == v,
    "EventSource": lambda e, v: e["EventSource"] == v,
    "AccessKeyId": lambda e, v: e.get("AccessKeyId") == v,
    "ResourceType": lambda e, v: any(r.get("ResourceType") == v for r in e.get("Resources", [])),
    "ResourceName": lambda e, v: any(r.get("ResourceName") == v for r in e.get("Resources", [])),
}
MAX_RESULTS = 50
RATE_PER_SECOND = 2.0                    # LookupEvents quota per account per Region
BURST = 2.0
_STORE = "_opsflows_lookup_events"       # attributes on moto's backend: cleared whenever moto resets
_QUOTA = "_opsflows_lookup_quota"
_LOCK = threading.Lock()


class _Error(JsonRESTError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def event(name: str, source: str, *, access_key_id: str | None, time: datetime, username: str | None = None,
          source_ip: str = "203.0.113.10", region: str = "us-east-1", read_only: bool = True,
          resources: Sequence[tuple[str, str]] = (), error_code: str | None = None) -> dict:
    """One CloudTrail event as LookupEvents returns it (CloudTrailEvent holds the full record as JSON)."""
    event_id = str(uuid.uuid4())
    time = time if time.tzinfo else time.replace(tzinfo=timezone.utc)
    record = {"eventVersion": "1.09", "eventID": event_id, "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": source_ip,
              "userIdentity": {"type": "IAMUser", "userName": username, "accessKeyId": access_key_id},
              "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
              "resources": [{"type": t, "ARN": n} for t, n in resources]}
    if error_code:
        record["errorCode"] = error_code
    found = {"EventId": event_id, "EventName": name, "ReadOnly": "true" if read_only else "false",
             "EventTime": time, "EventSource": source,
             "Resources": [{"ResourceType": t, "ResourceName": n} for t, n in resources],
             "CloudTrailEvent": json.dumps(record)}
    if access_key_id:
        found["AccessKeyId"] = access_key_id
    if username:
        found["Username"] = username
    return found


def seed_events(events: Iterable[dict], *, region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    """Make `events` (see `event`) visible to LookupEvents in that account and region."""
    backend = cloudtrail_backends[account_id][region]
    stored = getattr(backend, _STORE, [])
    stored.extend(events)
    setattr(backend, _STORE, stored)


def _timestamp(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise _Error("InvalidTimeRangeException", f"{name} is not a valid time: {value!r}") from None


def _token(query: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"q": query, "o": offset}).encode()).decode()


class _Quota:
    """A token bucket: BURST requests at once, RATE_PER_SECOND sustained, on simulated time."""

    def __init__(self) -> None:
        self.tokens, self.at = BURST, clock.elapsed()
        self.requests = self.throttled = 0

    def take(self) -> bool:
        now = clock.elapsed()
        if now < self.at:                # the clock restarted (a new cloud, or another scale)
            self.at = now
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE_PER_SECOND)
        self.at = now
        self.requests += 1
        if self.tokens < 1:
            self.throttled += 1
            return False
        self.tokens -= 1
        return True


def _quota(account_id: str, region: str) -> _Quota:
    backend = cloudtrail_backends[account_id][region]
    with _LOCK:
        if not hasattr(backend, _QUOTA):
            setattr(backend, _QUOTA, _Quota())
        return getattr(backend, _QUOTA)


def lookup_stats(region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT_ID) -> dict[str, int]:
    """LookupEvents requests that reached the quota in that account and Region, and how many it refused."""
    quota = _quota(account_id, region)
    return {"requests": quota.requests, "throttled": quota.throttled}


def lookup_events(self: CloudTrailResponse) -> str:
    quota = _quota(self.current_account, self.region)
    with _LOCK:
        allowed = quota.take()
    if not allowed:
        raise _Error("ThrottlingException", "Rate exceeded")
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise _Error("InvalidLookupAttributesException", "You can specify only one lookup attribute.")
    for attribute in attributes:
        if attribute.get("AttributeKey") not in ATTRIBUTES or not attribute.get("AttributeValue"):
            raise _Error("InvalidLookupAttributesException",
                         f"Invalid lookup attribute {attribute.get('AttributeKey')!r}.")
    start = _timestamp(self._get_param("StartTime"), "StartTime")
    end = _timestamp(self._get_param("EndTime"), "EndTime")
    if start and end and start > end:
        raise _Error("InvalidTimeRangeException", "StartTime must be before EndTime.")
    max_results = self._get_param("MaxResults") or MAX_RESULTS
    if not 1 <= int(max_results) <= MAX_RESULTS:
        raise _Error("InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}.")

    query = hashlib.sha256(json.dumps([attributes, start and start.isoformat(), end and end.isoformat()],
                                      default=str).encode()).hexdigest()
    offset = 0
    if self._get_param("NextToken"):
        try:
            decoded = json.loads(base64.urlsafe_b64decode(self._get_param("NextToken").encode()))
            assert decoded["q"] == query
            offset = int(decoded["o"])
        except Exception:
            raise _Error("InvalidNextTokenException", "Invalid NextToken for this query.") from None

    matched = [e for e in getattr(cloudtrail_backends[self.current_account][self.region], _STORE, [])
               if all(ATTRIBUTES[a["AttributeKey"]](e, a["AttributeValue"]) for a in attributes)
               and (start is None or e["EventTime"] >= start) and (end is None or e["EventTime"] <= end)]
    matched.sort(key=lambda e: e["EventTime"], reverse=True)        # newest first, as AWS
    page = matched[offset: offset + int(max_results)]
    body: dict[str, Any] = {"Events": [{**e, "EventTime": e["EventTime"].timestamp()} for e in page]}
    if offset + len(page) < len(matched):
        body["NextToken"] = _token(query, offset + len(page))
    return json.dumps(body)


def apply() -> None:
    CloudTrailResponse.lookup_events = lookup_events
