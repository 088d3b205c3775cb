"""What a key did, from its CloudTrail events: pure logic, no AWS."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Iterable

# Bounds that keep the summary (and so the alert and the state payload) small whatever the key did.
TOP_RESOURCES = 25
TOP_IPS = 20
TOP_NAMES = 50


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _ranked(counter: Counter, limit: int | None = None) -> dict[str, int]:
    """Most frequent first, ties by name; an ordered dict survives JSON (and reads well in the alert)."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


def summarise(events: Iterable[dict]) -> dict:
    """Counts per event name and per event source, resources touched, source IPs, first/last seen."""
    names, sources, resources, ips, regions, errors = Counter(), Counter(), Counter(), Counter(), Counter(), Counter()
    writes = 0
    times: list[datetime] = []
    total = 0
    for event in events:
        total += 1
        names[event.get("EventName", "?")] += 1
        sources[event.get("EventSource", "?")] += 1
        if str(event.get("ReadOnly", "true")).lower() == "false":
            writes += 1
        for resource in event.get("Resources") or []:
            resources[f"{resource.get('ResourceType', '?')} {resource.get('ResourceName', '?')}"] += 1
        if isinstance(event.get("EventTime"), datetime):
            times.append(event["EventTime"])
        try:
            record = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            record = {}
        if record.get("sourceIPAddress"):
            ips[record["sourceIPAddress"]] += 1
        if record.get("awsRegion"):
            regions[record["awsRegion"]] += 1
        if record.get("errorCode"):
            errors[record["errorCode"]] += 1
    return {
        "events": total,
        "writes": writes,
        "firstSeen": _iso(min(times)) if times else None,
        "lastSeen": _iso(max(times)) if times else None,
        "byEventName": _ranked(names, TOP_NAMES),
        "eventNamesTotal": len(names),
        "byEventSource": _ranked(sources),
        "resources": _ranked(resources, TOP_RESOURCES),
        "resourcesTotal": len(resources),
        "sourceIps": _ranked(ips, TOP_IPS),
        "sourceIpsTotal": len(ips),
        "byRegion": _ranked(regions),
        "errors": _ranked(errors),
    }
