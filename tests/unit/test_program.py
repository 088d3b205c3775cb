"""The program as a whole: bad config stops it before any resource is registered."""
import pytest

from components.settings import SettingsError


def test_bad_config_registers_nothing(cloud):
    with pytest.raises(SettingsError, match=r"opsflows:snapshots.retain: got 0; must be an integer >= 1"):
        cloud.deploy("primary", {"opsflows:snapshots": {"retain": 0}})
    assert cloud.client("lambda", "us-west-2").list_functions()["Functions"] == []
    assert cloud.client("stepfunctions", "us-west-2").list_state_machines()["stateMachines"] == []


def test_dr_stack_needs_no_dr_region_and_copies_nothing(cloud):
    deployment = cloud.deploy("dr")
    assert set(deployment.outputs) == {"alertTopicArn", "snapshotStateMachineArn"}
    functions = cloud.client("lambda", "us-east-2").list_functions()["Functions"]
    assert sorted(f["Handler"] for f in functions) == ["snapshots.retain.handler", "snapshots.tag.handler"]


def test_stack_tags_reach_every_taggable_resource(cloud):
    deployment = cloud.deploy("dr", {"opsflows:tags": {"team": "sre", "costCenter": "42"}})
    tagged = [r for r in deployment.resources if r.custom and "tags" in r.inputs]
    assert {r.type for r in tagged} >= {"aws:sns/topic:Topic", "aws:kms/key:Key", "aws:lambda/function:Function",
                                        "aws:sfn/stateMachine:StateMachine", "aws:iam/role:Role"}
    assert all(r.inputs["tags"] == {"team": "sre", "costCenter": "42"} for r in tagged)
    untaggable = [r for r in deployment.resources if r.type == "aws:iam/rolePolicy:RolePolicy"]
    assert untaggable and not any("tags" in r.inputs for r in untaggable)
