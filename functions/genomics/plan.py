"""Validate a genomics execution input and plan every sample's jobs, before any job is submitted.

Environment: RESULTS_BUCKET, INPUT_BUCKETS (comma-separated), JOB_DEFINITIONS (JSON tool -> ARN),
JOB_QUEUES (JSON {"high": ARN, "low": ARN}). Returns {"samples": [plan, ...]} for the state machine's Map.
"""
from __future__ import annotations

import json
import os

from common.handler import lambda_handler

from .jobs import BatchResources, plan
from .sample import InvalidSampleInput, parse_input

# Step Functions passes at most 256 KiB between states; the plans travel in the execution's state.
MAX_PLAN_BYTES = 200 * 1024


class TooManySamples(InvalidSampleInput):
    """The plans of all samples would not fit in Step Functions' 256 KiB state; split the samples."""

    def __init__(self, count: int, size: int):
        super().__init__([f"samples: {count} samples plan to {size} bytes, over the {MAX_PLAN_BYTES}-byte limit "
                          f"of one execution; start several executions with fewer samples each"])


def plan_samples(event: dict, *, batch: BatchResources, results_bucket: str, input_buckets: set[str]) -> dict:
    samples = parse_input(event, readable_buckets=input_buckets | {results_bucket}, results_bucket=results_bucket)
    problems: list[str] = []
    several = "samples" in event
    plans = [plan(sample, batch, problems, f"samples[{i}]." if several else "") for i, sample in enumerate(samples)]
    if problems:
        raise InvalidSampleInput(problems)
    result = {"samples": plans}
    size = len(json.dumps(result))
    if size > MAX_PLAN_BYTES:
        raise TooManySamples(len(plans), size)
    return result


@lambda_handler
def handler(event: dict, context: object) -> dict:
    return plan_samples(
        event,
        batch=BatchResources(definitions=json.loads(os.environ["JOB_DEFINITIONS"]),
                             queues=json.loads(os.environ["JOB_QUEUES"])),
        results_bucket=os.environ["RESULTS_BUCKET"],
        input_buckets={b for b in os.environ.get("INPUT_BUCKETS", "").split(",") if b})
