"""Speed only: moto's Step Functions interpreter parses a JSONPath (`$.sample.jobs.isaac.name`) every time it
evaluates one, and jsonpath_ng builds a new lexer and yacc parser for each parse (~1.5 ms, most of the CPU a
cohort of samples costs the local cloud). A parsed path is an immutable expression; one is kept per path text."""
from __future__ import annotations

from functools import lru_cache

from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.utils import json_path


def apply() -> None:
    json_path.parse = lru_cache(maxsize=4096)(json_path.parse)
    result_path.parse = lru_cache(maxsize=4096)(result_path.parse)
