"""A Map's ToleratedFailurePercentage may be any JSON number.

AWS: `"ToleratedFailurePercentage": 100` and `100.0` are the same (a number from 0 to 100).
moto: its ASL grammar takes a decimal token there, and refuses the definition when the percentage is an
integer ("ASLParserException ... no viable alternative at input '"ToleratedFailurePercentage":100'").
Here an integer percentage is read as the same decimal before moto parses the definition.
"""
from __future__ import annotations

import json
import re

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

_INTEGER = re.compile(r'"ToleratedFailurePercentage"\s*:\s*-?\d+\s*[,}]')


def _as_decimal(value):
    if isinstance(value, dict):
        return {k: (float(v) if k == "ToleratedFailurePercentage" and isinstance(v, int) and not isinstance(v, bool)
                    else _as_decimal(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_decimal(v) for v in value]
    return value


def apply() -> None:
    parse = AmazonStateLanguageParser.parse

    @staticmethod
    def parse_definition(definition: str):
        if _INTEGER.search(definition):
            definition = json.dumps(_as_decimal(json.loads(definition)))
        return parse(definition)

    AmazonStateLanguageParser.parse = parse_definition
