"""The snapshot component as registered: resources, regions, IAM (parsed), ASL shape, rule patterns."""
import json

from tests.unit.conftest import definition, policy_statements


def ours(deployment, type_token: str) -> list:
    """This component's resources of a type (and the stack's alert topic): the stacks hold other capabilities'."""
    return [r for r in deployment.of_type(type_token) if r.name.startswith(("snapshots-", "alerts-"))]


def statement(deployment, role_prefix: str, action: str) -> dict:
    (found,) = [s for s in policy_statements(deployment, role_prefix) if action in s["Action"]]
    return found


def test_outputs_of_both_stacks(stacks):
    for name, region in (("primary", "us-west-2"), ("dr", "us-east-2")):
        outputs = stacks[name].outputs
        assert outputs["snapshotStateMachineArn"].startswith(f"arn:aws:states:{region}:")
        assert outputs["alertTopicArn"].startswith(f"arn:aws:sns:{region}:")


def test_primary_flow_tags_retains_then_queues_the_copy(stacks):
    asl = definition(stacks["primary"], "snapshots-flow")
    states = asl["States"]
    assert asl["StartAt"] == "Tag" and "Settle" not in states
    assert states["Tag"]["Next"] == "Managed?" and states["Retain"]["Next"] == "CopyToDR"
    copy = states["CopyToDR"]
    assert copy["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert copy["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert copy["TimeoutSeconds"] == 24 * 3600 and copy["Next"] == "Done"          # copyDeadlineHours default
    assert [c["ErrorEquals"] for c in copy["Catch"]] == [["CopyDeadlineReached"], ["States.Timeout"], ["States.ALL"]]
    assert [c["Next"] for c in copy["Catch"]] == ["Reported with others", "Expire", "CopyToDR failed"]
    assert not any("ResourceLimitExceeded" in r["ErrorEquals"] for r in copy["Retry"])   # the quota is queued
    copies = definition(stacks["primary"], "snapshots-copies")["States"]
    for machine, name in [(states, n) for n in ("Tag", "Retain", "CopyToDR", "Expire")] + \
            [(copies, n) for n in ("Settle", "Retain copied", "CopyToDR", "Expire")]:
        assert any("RequestLimitExceeded" in r["ErrorEquals"] for r in machine[name]["Retry"])
        assert machine[name]["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    assert states["NotifyFailure"]["Resource"] == "arn:aws:states:::sns:publish"
    assert states["NotifyFailure"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"
    assert states["NotifyDeadline"]["Next"] == "Deadline reached" and states["Deadline reached"]["Type"] == "Fail"


def test_a_forwarded_copy_event_settles_then_retains_or_copies_again(stacks):
    asl = definition(stacks["primary"], "snapshots-copies")
    states = asl["States"]
    assert asl["StartAt"] == "Settle" and states["Settle"]["Next"] == "Settled?"
    assert {c["Next"] for c in states["Settled?"]["Choices"]} == {"Retain copied", "Copy again"}
    assert {"Variable": "$.settled.retain", "BooleanEquals": True} in states["Settled?"]["Choices"][0]["And"]
    assert states["Copy again"]["Next"] == "CopyToDR" and states["Retain copied"]["Next"] == "Done"
    assert "snapshot.$" not in states["Retain copied"]["Parameters"]     # nothing to protect once copied


def test_dr_flow_has_no_copy_and_protects_no_snapshot(stacks):
    states = definition(stacks["dr"], "snapshots-flow")["States"]
    assert "CopyToDR" not in states and states["Retain"]["Next"] == "Done"
    assert "snapshot.$" not in states["Retain"]["Parameters"]      # keeps the newest copies by their source's time
    assert not ours(stacks["dr"], "aws:dynamodb/table:Table")


def test_rules_start_the_flow_and_forward_dr_copy_events_to_the_primary_bus(stacks):
    primary, dr = stacks["primary"], stacks["dr"]
    patterns = {json.dumps(json.loads(r.inputs["eventPattern"]), sort_keys=True): r
                for r in ours(primary, "aws:cloudwatch/eventRule:EventRule")}
    every_copy = {"source": ["aws.ec2"], "detail-type": ["EBS Snapshot Notification"],
                  "detail": {"event": ["copySnapshot"], "result": ["succeeded", "failed"]}}
    created = {"source": ["aws.ec2"], "detail-type": ["EBS Snapshot Notification"],
               "detail": {"event": ["createSnapshot"], "result": ["succeeded"]}}
    forwarded = {**every_copy, "region": ["us-east-2"]}
    assert set(patterns) == {json.dumps(p, sort_keys=True) for p in (created, every_copy, forwarded)}
    assert patterns[json.dumps(every_copy, sort_keys=True)].region == "us-east-2"      # in the DR region
    targets = {t.inputs["rule"]: t for t in ours(primary, "aws:cloudwatch/eventTarget:EventTarget")}
    to_bus = targets[patterns[json.dumps(every_copy, sort_keys=True)].outputs["name"]]
    assert to_bus.inputs["arn"] == "arn:aws:events:us-west-2:123456789012:event-bus/default"
    assert to_bus.region == "us-east-2" and to_bus.inputs["roleArn"].startswith("arn:aws:iam::")
    (put,) = policy_statements(primary, "snapshots-dr-copies-policy")
    assert put["Action"] == ["events:PutEvents"] and put["Resource"] == [to_bus.inputs["arn"]]
    (copies,) = [m for m in ours(primary, "aws:sfn/stateMachine:StateMachine") if m.name.startswith("snapshots-copies")]
    for pattern, machine in ((created, primary.outputs["snapshotStateMachineArn"]), (forwarded, copies.outputs["arn"])):
        assert targets[patterns[json.dumps(pattern, sort_keys=True)].outputs["name"]].inputs["arn"] == machine
    (rule,) = ours(dr, "aws:cloudwatch/eventRule:EventRule")
    assert json.loads(rule.inputs["eventPattern"])["detail"] == {"event": ["copySnapshot"], "result": ["succeeded"]}


def test_retention_may_delete_only_managed_snapshots_in_its_region(stacks):
    delete = statement(stacks["primary"], "snapshots-retain", "ec2:DeleteSnapshot")
    assert delete["Resource"] == ["arn:aws:ec2:us-west-2::snapshot/*"]
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/opsflows:managed": "true"}}


def test_settle_deletes_only_failed_copies_opsflows_made_and_tags_only_the_dr_state(stacks):
    delete = statement(stacks["primary"], "snapshots-settle", "ec2:DeleteSnapshot")
    assert delete["Resource"] == ["arn:aws:ec2:us-east-2::snapshot/*"]
    assert delete["Condition"] == {"StringEquals": {"aws:ResourceTag/opsflows:managed": "pending"}}
    (mark,) = [s for s in policy_statements(stacks["primary"], "snapshots-settle") if s.get("Sid") == "MarkCopied"]
    assert mark["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": ["opsflows:dr"]}


def test_tagging_is_limited_to_opsflows_keys_managed_snapshots_and_new_copies(stacks):
    """The Tag step writes only opsflows' keys; Settle only opsflows:dr, on a snapshot already managed; in the DR
    region the queue tags only the copies it creates (else it could mark any DR snapshot opsflows:managed=true,
    which DR retention deletes)."""
    for name, keys in (("primary", ["opsflows:managed", "opsflows:volume", "opsflows:dr"]),
                       ("dr", ["opsflows:managed", "opsflows:volume"])):
        tag = statement(stacks[name], "snapshots-tag", "ec2:CreateTags")
        assert tag["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": keys}}
    (mark,) = [s for s in policy_statements(stacks["primary"], "snapshots-settle") if s.get("Sid") == "MarkCopied"]
    assert mark["Resource"] == ["arn:aws:ec2:us-west-2::snapshot/*"]
    assert mark["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["opsflows:dr"]},
                                 "StringEquals": {"aws:ResourceTag/opsflows:managed": "true"}}
    for fn in ("snapshots-copy", "snapshots-settle"):
        (copies,) = [s for s in policy_statements(stacks["primary"], fn) if s.get("Sid") == "TagCopies"]
        assert copies["Resource"] == ["arn:aws:ec2:us-east-2::snapshot/*"]
        assert copies["Condition"] == {"StringEquals": {"ec2:CreateAction": "CopySnapshot"}}


def test_the_ledger_is_reached_only_by_the_queue_functions_on_its_own_arn(stacks):
    (table,) = ours(stacks["primary"], "aws:dynamodb/table:Table")
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST" and table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    for fn in ("snapshots-copy", "snapshots-settle", "snapshots-expire"):
        ledger = [s for s in policy_statements(stacks["primary"], fn) if any(a.startswith("dynamodb:") for a in s["Action"])]
        assert [s["Resource"] for s in ledger] == [[table.outputs["arn"]]]
    (mark,) = [s for s in policy_statements(stacks["primary"], "snapshots-retain") if s["Action"][0].startswith("dynamodb")]
    assert mark["Action"] == ["dynamodb:UpdateItem"] and mark["Resource"] == [table.outputs["arn"]]
    assert mark["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "retainAfterCopy"]}}
    assert not any(a.startswith(("dynamodb:", "states:")) for s in policy_statements(stacks["primary"], "snapshots-tag")
                   for a in s["Action"])


def test_star_resources_only_where_aws_allows_nothing_else(stacks):
    allowed = {"ec2:DescribeSnapshots", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
               "xray:GetSamplingRules", "xray:GetSamplingTargets", "logs:CreateLogDelivery", "logs:GetLogDelivery",
               "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
               "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
               "cloudtrail:LookupEvents", "states:SendTaskSuccess", "states:SendTaskFailure"}
    for deployment in stacks.values():
        for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy"):
            for s in json.loads(r.inputs["policy"])["Statement"]:
                if "*" in s["Resource"]:
                    assert set(s["Action"]) <= allowed, (r.name, s)
                assert not any(a == "*" or a.endswith(":*") for a in s["Action"]), (r.name, s)


def test_copy_goes_to_the_dr_region_only(stacks):
    for fn in ("snapshots-copy", "snapshots-settle"):
        copy = statement(stacks["primary"], fn, "ec2:CopySnapshot")
        assert copy["Resource"] == ["arn:aws:ec2:us-west-2::snapshot/*", "arn:aws:ec2:us-east-2::snapshot/*"]


def test_functions_are_arm64_python312_traced_with_json_logs(stacks):
    functions = ours(stacks["primary"], "aws:lambda/function:Function")
    assert sorted(f.inputs["handler"] for f in functions) == [
        "snapshots.copy.handler", "snapshots.expire.handler", "snapshots.retain.handler", "snapshots.settle.handler",
        "snapshots.tag.handler"]
    for f in functions:
        assert f.inputs["runtime"] == "python3.12" and f.inputs["architectures"] == ["arm64"]
        assert f.inputs["tracingConfig"] == {"mode": "Active"}
        assert f.inputs["loggingConfig"]["logFormat"] == "JSON"
    for g in ours(stacks["primary"], "aws:cloudwatch/logGroup:LogGroup"):
        assert g.inputs["retentionInDays"] == 30


def test_state_machines_log_trace_and_alarm(stacks):
    machines = ours(stacks["primary"], "aws:sfn/stateMachine:StateMachine")
    alarms = ours(stacks["primary"], "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(machines) == len(alarms) == 2
    for machine in machines:
        assert machine.inputs["loggingConfiguration"]["level"] == "ALL"
        assert machine.inputs["tracingConfiguration"] == {"enabled": True}
    for alarm in alarms:
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
