"""Step Functions definitions parsed once per definition, not once per execution.

AWS: a state machine's definition is validated when it is created; starting an execution costs nothing of the
kind. moto: every execution (and every Map iteration's sub-definition) lexes and parses the definition's JSON
again with ANTLR, tens of milliseconds a time for a workflow of a few dozen states: a burst of a thousand
executions spends most of its local-cloud time parsing the same text. Here the parse tree is kept per definition
text; the evaluation components are still built afresh from it for each execution, so no run shares state with
another (the tree is only read).
"""
from __future__ import annotations

import threading

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

_TREES: dict[str, object] = {}
_LOCK = threading.Lock()


def apply() -> None:
    original = AmazonStateLanguageParser.parse

    def parse(definition: str):
        tree = _TREES.get(definition)
        if tree is None:
            _, tree = original(definition)            # a bad definition raises as before
            with _LOCK:
                _TREES[definition] = tree
        return Preprocessor().visit(tree), tree

    AmazonStateLanguageParser.parse = staticmethod(parse)
