"""docs/ is what the program renders: committed pages equal a fresh render, and the diagrams carry every state."""
from __future__ import annotations

import re

from localcloud import docs
from localcloud.mermaid import flowchart


def test_committed_docs_match_what_the_program_renders():
    stale = [str(path.relative_to(docs.ROOT)) for path, text in docs.render().items()
             if not path.exists() or path.read_text() != text]
    assert stale == [], "docs/ is stale: run `make docs` and commit"


def test_every_state_machine_is_drawn_with_all_its_states():
    pages = {path.stem: text for path, text in docs.render().items()}
    machines = docs.machines()
    assert machines
    for m in machines:
        page = pages[m.capability.slug]
        assert f"`{m.name}`" in page
        chart = flowchart(m.definition, docs._describer(m.variant))
        assert chart in page
        for state in m.definition["States"]:
            assert re.search(rf'"{re.escape(state)}( \((Map|Parallel)\))?(<br/>[^"]*)?"', chart), state


def test_flowchart_draws_choices_catches_and_parallel_branches():
    definition = {"StartAt": "Plan", "States": {
        "Plan": {"Type": "Task", "Resource": "arn:aws:lambda:us-west-2:123456789012:function:plan",
                 "Next": "Ready?", "Catch": [{"ErrorEquals": ["InvalidInput"], "Next": "Failed"}]},
        "Ready?": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Jobs"}],
                   "Default": "Failed"},
        "Jobs": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "Align", "States": {"Align": {"Type": "Task", "End": True,
                                                      "Resource": "arn:aws:states:::batch:submitJob.sync"}}},
            {"StartAt": "QC", "States": {"QC": {"Type": "Pass", "End": True}}}]},
        "Failed": {"Type": "Fail"}}}
    chart = flowchart(definition, lambda arn: "plan.handler")
    assert '["Plan<br/>λ plan.handler"]' in chart
    assert '{"Ready?"}' in chart and '-->|"$.ok = true"|' in chart and '-->|"default"|' in chart
    assert '-.->|"InvalidInput"|' in chart
    assert 'subgraph' in chart and '"Align<br/>batch:submitJob.sync"' in chart and '>"QC"]' in chart
    assert 'subgraph s2b0 ["branch 1"]' in chart and 'subgraph s2b1 ["branch 2"]' in chart
