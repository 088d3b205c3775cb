"""Validate a sync request before anything is written: allowed buckets, no overlap, both buckets exist and are
reachable (one HeadBucket each, which also tells their regions). A continuation execution is validated again."""
from __future__ import annotations

import json
import os
import re
from typing import Any

from common.handler import lambda_handler

from dataclasses import replace

from .inventory import index_prefix, read_manifest
from .model import InvalidSyncInput, SyncRequest, parse_request
from .s3 import bucket_region
from .state import ScanState

UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def allowed_buckets() -> set[str]:
    return set(json.loads(os.environ.get("ALLOWED_BUCKETS", "[]")))


def validate(execution_input: Any, execution: str, allowed: set[str]) -> dict:
    """The first state: {"input", "request", "scan", "copyResults"}. `execution_input` is the user's request, or
    {"continuation": {"input", "request", "scan", "copyResults"}} from a previous execution of this workflow,
    whose input is checked again; the bucket regions it found are reused (no second HeadBucket)."""
    continuation = execution_input.get("continuation") if isinstance(execution_input, dict) else None
    known = None
    if continuation is None:
        user_input, state, results = execution_input, ScanState(run=UNSAFE.sub("-", execution)[:80] or "run"), []
    else:
        if set(execution_input) != {"continuation"} or not isinstance(continuation, dict) \
                or not isinstance(continuation.get("copyResults", []), list):
            raise InvalidSyncInput("continuation must be the only key, as a previous execution of this workflow "
                                   "passes it on")
        user_input = continuation.get("input")
        state, results = ScanState.from_json(continuation.get("scan")), continuation.get("copyResults", [])
        state.iterations = 0
        known = continuation.get("request")
    request = parse_request(user_input, allowed)
    regions = _carried_regions(known, request)
    request = request.with_regions(*(regions or (bucket_region(request.source.bucket),
                                                 bucket_region(request.destination.bucket))))
    if request.inventory is not None:
        inventory, _ = read_manifest(request)
        request = replace(request, inventory=replace(inventory, index=index_prefix(state.run)))
    return {"input": user_input, "request": request.to_json(), "scan": state.to_json(), "copyResults": results}


def _carried_regions(known: Any, request: SyncRequest) -> tuple[str, str] | None:
    """The regions a previous execution found for exactly these locations, if it passed them on."""
    try:
        carried = SyncRequest.from_json(known)
    except (KeyError, TypeError, AttributeError):
        return None
    same = all((getattr(carried, side).bucket, getattr(carried, side).prefix) ==
               (getattr(request, side).bucket, getattr(request, side).prefix) for side in ("source", "destination"))
    regions = (carried.source.region, carried.destination.region)
    return regions if same and all(isinstance(r, str) and r for r in regions) else None


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return validate(event.get("input"), event.get("execution") or "run", allowed_buckets())
