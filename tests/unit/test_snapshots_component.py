"""The snapshot component as registered: resources, regions, IAM (parsed), ASL shape, rule pattern."""
import json

from tests.unit.conftest import definition, policy_statements


def ours(deployment, type_token: str) -> list:
    """This component's resources of a type (and the stack's alert topic): the stacks hold other capabilities'."""
    return [r for r in deployment.of_type(type_token) if r.name.startswith(("snapshots-", "alerts-"))]


def test_outputs_of_both_stacks(stacks):
    for name, region in (("primary", "us-west-2"), ("dr", "us-east-2")):
        outputs = stacks[name].outputs
        assert outputs["snapshotStateMachineArn"].startswith(f"arn:aws:states:{region}:")
        assert outputs["alertTopicArn"].startswith(f"arn:aws:sns:{region}:")


def test_primary_flow_tags_retains_then_copies(stacks):
    asl = definition(stacks["primary"], "snapshots-flow")
    states = asl["States"]
    assert asl["StartAt"] == "Tag"
    assert states["Tag"]["Next"] == "Managed?" and states["Retain"]["Next"] == "CopyToDR"
    assert states["CopyToDR"]["Next"] == "Done"
    copy_retry = [r for r in states["CopyToDR"]["Retry"] if "ResourceLimitExceeded" in r["ErrorEquals"]]
    assert copy_retry and copy_retry[0]["BackoffRate"] > 1
    for name in ("Tag", "Retain", "CopyToDR"):
        assert any("RequestLimitExceeded" in r["ErrorEquals"] for r in states[name]["Retry"])
        assert states[name]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert states["NotifyFailure"]["Resource"] == "arn:aws:states:::sns:publish"
    assert states["NotifyFailure"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"


def test_dr_flow_has_no_copy(stacks):
    states = definition(stacks["dr"], "snapshots-flow")["States"]
    assert "CopyToDR" not in states and states["Retain"]["Next"] == "Done"


def test_rules_match_succeeded_snapshot_events_and_use_a_role(stacks):
    for stack, event in (("primary", "createSnapshot"), ("dr", "copySnapshot")):
        (rule,) = ours(stacks[stack], "aws:cloudwatch/eventRule:EventRule")
        assert json.loads(rule.inputs["eventPattern"]) == {
            "source": ["aws.ec2"], "detail-type": ["EBS Snapshot Notification"],
            "detail": {"event": [event], "result": ["succeeded"]}}
        (target,) = ours(stacks[stack], "aws:cloudwatch/eventTarget:EventTarget")
        assert target.inputs["roleArn"].startswith("arn:aws:iam::")
        assert target.inputs["arn"] == stacks[stack].outputs["snapshotStateMachineArn"]


def test_retention_may_delete_only_managed_snapshots_in_its_region(stacks):
    statements = policy_statements(stacks["primary"], "snapshots-retain")
    (delete,) = [s for s in statements if "ec2:DeleteSnapshot" in s["Action"]]
    assert delete["Resource"] == ["arn:aws:ec2:us-west-2::snapshot/*"]
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/opsflows:managed": "true"}}


def test_star_resources_only_where_aws_allows_nothing_else(stacks):
    allowed = {"ec2:DescribeSnapshots", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
               "xray:GetSamplingRules", "xray:GetSamplingTargets", "logs:CreateLogDelivery", "logs:GetLogDelivery",
               "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
               "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
               "cloudtrail:LookupEvents"}
    for deployment in stacks.values():
        for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy"):
            for s in json.loads(r.inputs["policy"])["Statement"]:
                if "*" in s["Resource"]:
                    assert set(s["Action"]) <= allowed, (r.name, s)
                assert not any(a == "*" or a.endswith(":*") for a in s["Action"]), (r.name, s)


def test_copy_goes_to_the_dr_region_only(stacks):
    (copy,) = [s for s in policy_statements(stacks["primary"], "snapshots-copy") if "ec2:CopySnapshot" in s["Action"]]
    assert copy["Resource"] == ["arn:aws:ec2:us-west-2::snapshot/*", "arn:aws:ec2:us-east-2::snapshot/*"]


def test_functions_are_arm64_python312_traced_with_json_logs(stacks):
    functions = ours(stacks["primary"], "aws:lambda/function:Function")
    assert len(functions) == 3
    for f in functions:
        assert f.inputs["runtime"] == "python3.12" and f.inputs["architectures"] == ["arm64"]
        assert f.inputs["tracingConfig"] == {"mode": "Active"}
        assert f.inputs["loggingConfig"]["logFormat"] == "JSON"
        assert f.inputs["handler"].startswith("snapshots.")
    for g in ours(stacks["primary"], "aws:cloudwatch/logGroup:LogGroup"):
        assert g.inputs["retentionInDays"] == 30


def test_state_machines_log_trace_and_alarm(stacks):
    (machine,) = ours(stacks["primary"], "aws:sfn/stateMachine:StateMachine")
    assert machine.inputs["loggingConfiguration"]["level"] == "ALL"
    assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    (alarm,) = ours(stacks["primary"], "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarm.inputs["metricName"] == "ExecutionsFailed"
    assert alarm.inputs["alarmActions"] == [stacks["primary"].outputs["alertTopicArn"]]


def test_alert_topic_is_kms_encrypted(stacks):
    (topic,) = ours(stacks["primary"], "aws:sns/topic:Topic")
    (key,) = ours(stacks["primary"], "aws:kms/key:Key")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True


def test_packages_ship_only_sources(stacks):
    from components.packaging import package_files
    files = package_files("snapshots")
    assert "snapshots/retain.py" in files and "common/errors.py" in files
    assert not [f for f in files if "__pycache__" in f or "/tests/" in f or not f.endswith((".py", ".json"))]
