"""The drill's verdicts that need no cloud: alert counting, outputs validation, the closing table and exit code."""
from __future__ import annotations

import pytest

from drill.alerts import exactly_one
from drill.outputs import DrillSetupError, StackOutputs
from drill.report import FAILED, PASSED, SKIPPED, Check, Outcome, Report

ARN = "arn:aws:states:us-west-2:123456789012:stateMachine:snapshots-flow-sm-1"


def test_one_alert_per_topic_it_reached_and_no_duplicate_on_one_topic():
    alert = {"Subject": "s", "Message": "m"}
    assert exactly_one([{**alert, "TopicArn": "t1"}])
    assert exactly_one([{**alert, "TopicArn": "t1"}, {**alert, "TopicArn": "t2"}])     # fanned out to two topics
    assert not exactly_one([{**alert, "TopicArn": "t1"}, {**alert, "TopicArn": "t1"}])
    assert not exactly_one([])


@pytest.mark.parametrize("stack, outputs, words", [
    ("primary", [], "must be a JSON object"),
    ("primary", {"snapshotStateMachineArn": "[secret]", "drRegion": "us-east-2"}, "--show-secrets"),
    ("primary", {"snapshotStateMachineArn": ARN, "drRegion": "mars-1"}, "drRegion must be a region name"),
    ("dr", {"snapshotStateMachineArn": ARN, "drRegion": "us-east-2"}, "use --stack primary"),
    ("dr", {"snapshotStateMachineArn": ARN, "alertTopicArn": "arn:aws:sns:us-east-2:210987654321:a"}, "several accounts"),
    ("dr", {}, "no output snapshotStateMachineArn"),
])
def test_outputs_are_checked_before_anything_happens(stack, outputs, words):
    with pytest.raises(DrillSetupError, match=words.replace("-", r"\-")):
        StackOutputs.parse(stack, outputs)


def test_the_regions_are_every_arn_region_and_the_dr_region():
    outputs = StackOutputs.parse("primary", {"snapshotStateMachineArn": ARN, "drRegion": "us-east-2",
                                             "credentialAlertTopicArn": "arn:aws:sns:us-east-1:123456789012:c"})
    assert outputs.regions == ["us-east-1", "us-east-2", "us-west-2"]
    assert outputs.topics == {"credentialAlertTopicArn": "arn:aws:sns:us-east-1:123456789012:c"}


def test_a_canary_left_behind_fails_the_drill_even_when_every_check_passed():
    report = Report("d1", "primary", "123456789012", ["us-west-2"], exercises=[
        Outcome("snapshots", PASSED, 3.2, [Check("ok", True)], cleaned=["volume vol-1"],
                not_removed=["DR copy snap-2 (us-east-2, pending) (IncorrectState: pending)"]),
        Outcome("genomics", SKIPPED, note="not deployed on primary (no genomicsStateMachineArn)")])
    assert report.exit_code == 1
    table = report.table()
    assert "NOT REMOVED: DR copy snap-2" in table and "not deployed on primary" in table
    assert table.endswith("FAILED (exit 1)")
    report.exercises[0].not_removed = []
    assert report.exit_code == 0 and report.table().endswith("PASSED (exit 0)")
    report.exercises[0].outcome = FAILED
    assert report.exit_code == 1
