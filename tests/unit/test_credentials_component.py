"""The credential-response component under Pulumi mocks: regions, trigger, IAM (parsed), ASL shape; settings."""
from __future__ import annotations

import asyncio
import json
import runpy
from dataclasses import replace

import pulumi
import pytest
from statelint.linter import Linter

from components import credentials as component
from components.alerts import AlertTopic, AlertTopicArgs
from localcloud.deploy import PROJECT_ROOT
from components.settings import CredentialResponseSettings, SettingsError, load

ACCOUNT = "123456789012"
HOME = "us-west-2"          # the stack's region; the component must not be there
USERS = f"arn:aws:iam::{ACCOUNT}:user/*"


class Recorder(pulumi.runtime.Mocks):
    """Records every registered resource; answers the invokes the program makes."""

    def __init__(self):
        self.resources: list[tuple[str, str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append((args.typ, args.name, dict(args.inputs)))
        region = args.inputs.get("region") or HOME
        kind = args.typ.split(":")[1].split("/")[0]
        return f"{args.name}-id", {**args.inputs, "name": args.inputs.get("name", args.name),
                                   "arn": f"arn:aws:{kind}:{region}:{ACCOUNT}:{args.name}"}

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDA", "id": ACCOUNT}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": HOME, "name": HOME, "id": HOME}
        return {}


@pytest.fixture(autouse=True)
def fresh_loop():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    loop.close()


class Deployed:
    def __init__(self, resources):
        self.resources = resources

    def of(self, typ: str) -> list[tuple[str, dict]]:
        return [(name, inputs) for t, name, inputs in self.resources if t == typ]

    def one(self, typ: str, name: str) -> dict:
        (inputs,) = [i for n, i in self.of(typ) if n == name]
        return inputs

    def policy(self, role_prefix: str) -> list[dict]:
        return json.loads(self.one("aws:iam/rolePolicy:RolePolicy", f"{role_prefix}-policy")["policy"])["Statement"]

    @property
    def asl(self) -> dict:
        ((_, sm),) = self.of("aws:sfn/stateMachine:StateMachine")
        return json.loads(sm["definition"])


HOME_TOPIC = f"arn:aws:sns:{HOME}:{ACCOUNT}:alerts-topic"         # the stack's alert topic (alertTopicArn)
HOME_KEY = f"arn:aws:kms:{HOME}:{ACCOUNT}:alerts-key"


def deploy(**overrides) -> Deployed:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="opsflows", stack="primary", preview=False)
    settings = replace(CredentialResponseSettings(), **overrides)

    def program():
        alerts = AlertTopic("alerts", AlertTopicArgs(emails=("sec@example.com",)))
        return component.CredentialResponse("credentials", component.CredentialResponseArgs(
            settings=settings, alerts=alerts, home_region=HOME)).state_machine_arn
    pulumi.runtime.test(program)()
    return Deployed([r for r in recorder.resources if not r[1].startswith("alerts-")])


@pytest.fixture(scope="module")
def default():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield deploy()
    loop.close()


REGIONAL = ("aws:lambda/function:Function", "aws:cloudwatch/logGroup:LogGroup", "aws:sfn/stateMachine:StateMachine",
            "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget", "aws:sns/topic:Topic",
            "aws:sns/topicSubscription:TopicSubscription", "aws:kms/key:Key", "aws:cloudwatch/metricAlarm:MetricAlarm")


def test_every_regional_resource_is_in_the_credential_region_not_the_stack_region(default):
    regional = [(t, n, i) for t, n, i in default.resources if t in REGIONAL]
    assert {t for t, _, _ in regional} == set(REGIONAL)
    assert {(t, n): i.get("region") for t, n, i in regional} == {(t, n): "us-east-1" for t, n, _ in regional}
    layers = [i["layers"] for _, i in default.of("aws:lambda/function:Function")]
    assert all(layer[0].startswith("arn:aws:lambda:us-east-1:") for layer in layers)


def test_a_region_setting_moves_the_whole_component():
    moved = deploy(region="eu-west-1")
    assert {i.get("region") for t, _, i in moved.resources if t in REGIONAL} == {"eu-west-1"}


def test_rule_matches_aws_health_risk_events_of_every_credential_code(default):
    ((_, rule),) = default.of("aws:cloudwatch/eventRule:EventRule")
    assert json.loads(rule["eventPattern"]) == {
        "source": ["aws.health"], "detail-type": ["AWS Health Event"],
        "detail": {"service": ["RISK"], "eventTypeCode": [
            "AWS_RISK_CREDENTIALS_EXPOSED", "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED",
            "AWS_RISK_CREDENTIALS_COMPROMISED", "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED",
            "AWS_RISK_IAM_QUARANTINE"]}}
    ((_, target),) = default.of("aws:cloudwatch/eventTarget:EventTarget")
    assert target["arn"].startswith("arn:aws:sfn:us-east-1:")


def test_the_component_and_its_handlers_agree_on_codes_and_policy():
    from credentials import model, quarantine
    assert set(component.EVENT_CODES) == set(model.EVENT_CODES)
    assert component.QUARANTINE_POLICY_ARN == quarantine.QUARANTINE_POLICY_ARN


def own_statements(statements: list[dict]) -> list[dict]:
    """Statements of a function's role beyond the ones every function has (own logs, X-Ray)."""
    return [s for s in statements if s.get("Sid") not in ("OwnLogs", "XRayOnlySupportsStar")]


def test_disable_may_only_read_and_deactivate_users_keys(default):
    assert own_statements(default.policy("credentials-disable")) == [{
        "Effect": "Allow", "Sid": "DisableUsersKey", "Resource": [USERS],
        "Action": ["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:UpdateAccessKey"]}]


def test_delete_action_grants_delete_instead_of_update():
    deleting = deploy(action="delete")
    (statement,) = own_statements(deleting.policy("credentials-disable"))
    assert "iam:DeleteAccessKey" in statement["Action"] and "iam:UpdateAccessKey" not in statement["Action"]
    env = deleting.one("aws:lambda/function:Function", "credentials-disable-fn")["environment"]["variables"]
    assert env["ACTION"] == "delete"


def test_only_lookup_events_has_resource_star(default):
    stars = {}
    for name, inputs in default.of("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(inputs["policy"])["Statement"]:
            if "*" in statement["Resource"]:
                stars.setdefault(statement["Sid"], set()).update(statement["Action"])
    assert stars == {"XRayOnlySupportsStar": {"xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                              "xray:GetSamplingRules", "xray:GetSamplingTargets"},
                     "LogDeliveryOnlySupportsStar": stars["LogDeliveryOnlySupportsStar"],
                     "LookupEventsOnlySupportsStar": {"cloudtrail:LookupEvents"}}
    assert all(a.startswith("logs:") for a in stars["LogDeliveryOnlySupportsStar"])
    assert own_statements(default.policy("credentials-report")) == []


def test_quarantine_and_revoke_exist_only_when_configured(default):
    names = {n for n, _ in default.of("aws:lambda/function:Function")}
    assert names == {f"credentials-{f}-fn" for f in ("validate", "disable", "activity", "report", "notify")}
    assert list(default.asl["States"]["ForEachKey"]["ItemProcessor"]["States"]) == [
        "DisableKey", "SummariseActivity", "KeyHandled"]

    both = deploy(quarantine=True, revoke_sessions=True)
    assert list(both.asl["States"]["ForEachKey"]["ItemProcessor"]["States"]) == [
        "DisableKey", "Quarantine", "RevokeSessions", "SummariseActivity", "KeyHandled"]
    assert own_statements(both.policy("credentials-quarantine")) == [
        {"Effect": "Allow", "Sid": "FindUserPolicies", "Resource": [USERS],
         "Action": ["iam:GetAccessKeyLastUsed", "iam:ListAttachedUserPolicies"]},
        {"Effect": "Allow", "Sid": "AttachQuarantineOnly", "Resource": [USERS], "Action": ["iam:AttachUserPolicy"],
         "Condition": {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"}}}]
    assert own_statements(both.policy("credentials-revoke")) == [
        {"Effect": "Allow", "Sid": "RevokeOlderSessions", "Resource": [USERS],
         "Action": ["iam:GetAccessKeyLastUsed", "iam:GetUserPolicy", "iam:PutUserPolicy"]}]


def test_workflow_role_invokes_only_its_functions_and_publishes_nothing_itself(default):
    statements = {s["Sid"]: s for s in default.policy("credentials-flow")}
    functions = {f"arn:aws:lambda:us-east-1:{ACCOUNT}:credentials-{f}-fn"
                 for f in ("validate", "disable", "activity", "report", "notify")}
    assert set(statements["InvokeOwnFunctions"]["Resource"]) == functions | {f + ":*" for f in functions}
    assert not [s for s in statements.values() if any(a.startswith(("sns:", "kms:")) for a in s["Action"])]


# --- where the alerts go ---------------------------------------------------------------------------------

def test_in_another_region_a_function_publishes_every_alert_to_the_stacks_alert_topic(default):
    states = default.asl["States"]
    notify = f"arn:aws:lambda:us-east-1:{ACCOUNT}:credentials-notify-fn"
    publishers = {n for n, s in states.items() if s.get("Resource") == notify}
    assert publishers == {"Alert", "NotifyFailure"}
    assert not [n for n, s in states.items() if "sns:publish" in str(s.get("Resource"))]
    assert all("TopicArn" not in states[n]["Parameters"] for n in publishers)
    env = default.one("aws:lambda/function:Function", "credentials-notify-fn")["environment"]["variables"]
    assert env["TOPIC_ARN"] == HOME_TOPIC
    # sns:Publish on exactly the stack's alert topic, and the key that topic is encrypted with.
    assert own_statements(default.policy("credentials-notify")) == [
        {"Sid": "PublishAlerts", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [HOME_TOPIC]},
        {"Sid": "EncryptAlerts", "Effect": "Allow", "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
         "Resource": [HOME_KEY]}]


def test_the_regional_alarm_notifies_a_regional_topic_forwarded_home_by_the_same_function(default):
    regional = f"arn:aws:sns:us-east-1:{ACCOUNT}:credentials-alerts-topic"
    ((_, alarm),) = default.of("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarm["alarmActions"] == [regional] and alarm["region"] == "us-east-1"
    ((_, subscription),) = default.of("aws:sns/topicSubscription:TopicSubscription")
    assert (subscription["topic"], subscription["protocol"], subscription["endpoint"]) == (
        regional, "lambda", f"arn:aws:lambda:us-east-1:{ACCOUNT}:credentials-notify-fn")
    ((_, permission),) = default.of("aws:lambda/permission:Permission")
    assert (permission["principal"], permission["sourceArn"], permission["action"]) == (
        "sns.amazonaws.com", regional, "lambda:InvokeFunction")
    assert {t for t, _, i in default.resources if t == "aws:sns/topic:Topic"} == {"aws:sns/topic:Topic"}


def test_in_the_stacks_own_region_the_states_publish_and_there_is_no_second_path():
    local = deploy(region=HOME)
    states = local.asl["States"]
    assert {n for n, s in states.items() if s.get("Resource") == "arn:aws:states:::sns:publish"} == {
        "Alert", "NotifyFailure"}
    assert {states[n]["Parameters"]["TopicArn"] for n in ("Alert", "NotifyFailure")} == {HOME_TOPIC}
    assert "credentials-notify-fn" not in {n for n, _ in local.of("aws:lambda/function:Function")}
    assert not local.of("aws:sns/topic:Topic") and not local.of("aws:lambda/permission:Permission")
    assert not local.of("aws:sns/topicSubscription:TopicSubscription")
    ((_, alarm),) = local.of("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarm["alarmActions"] == [HOME_TOPIC]
    statements = {s["Sid"]: s for s in local.policy("credentials-flow")}
    assert statements["PublishAlerts"]["Resource"] == [HOME_TOPIC]
    assert statements["EncryptAlerts"]["Resource"] == [HOME_KEY]


def test_the_notify_function_outlives_its_sdk_calls(default):
    """Its timeout exceeds the SDK's worst case, so a timed-out attempt never published (a retry sends one copy)."""
    from credentials import notify
    fn = default.one("aws:lambda/function:Function", "credentials-notify-fn")
    assert fn["timeout"] > notify.SDK_WORST_CASE_SECONDS
    assert any("Sandbox.Timedout" in r["ErrorEquals"] for r in default.asl["States"]["Alert"]["Retry"])


def test_definition_is_valid_asl_and_every_key_step_keeps_its_error_and_goes_on():
    asl = deploy(quarantine=True, revoke_sessions=True).asl
    assert Linter.validate(asl) == []
    per_key = asl["States"]["ForEachKey"]["ItemProcessor"]["States"]
    order = ["DisableKey", "Quarantine", "RevokeSessions", "SummariseActivity", "KeyHandled"]
    for state, result, following in zip(order, ("disable", "quarantine", "revoke", "activity"), order[1:]):
        task = per_key[state]
        assert task["ResultPath"] == f"$.{result}"
        assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.{result}", "Next": following}]
        assert any("ThrottlingException" in r["ErrorEquals"] for r in task["Retry"])
        assert any("Sandbox.Timedout" in r["ErrorEquals"] for r in task["Retry"])          # every step is idempotent
    for state in ("DisableKey", "Quarantine", "RevokeSessions"):
        (iam_retry,) = [r for r in per_key[state]["Retry"] if "Throttling" in r["ErrorEquals"] and
                        "ServiceFailure" in r["ErrorEquals"]]                               # IAM's own codes
    assert per_key["DisableKey"]["Parameters"] == {"accessKeyId.$": "$.accessKeyId", "attempt.$": "$$.State.RetryCount"}


def test_every_failure_ends_failed_after_exactly_one_alert(default):
    states = default.asl["States"]
    for name, state in states.items():
        if state["Type"] in ("Task", "Map") and name != "NotifyFailure":      # the last resort retries, then Failed
            assert state.get("Catch"), f"{name} has no Catch"
    assert states["Outcome"]["Choices"] == [{"Variable": "$.report.failed", "BooleanEquals": True,
                                             "Next": "ResponseIncomplete"}]
    assert states["ResponseIncomplete"]["Type"] == "Fail"
    assert states["ReportFallback"]["Next"] == "Alert" and states["Alert"]["Next"] == "Outcome"
    assert states["NotifyFailure"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"
    assert "act now" in states["NotifyFailure"]["Parameters"]["Subject.$"]
    assert states["Alert"]["Catch"][0]["Next"] == "Alert failed"      # a failed alert still alerts once
    assert states["ValidateEvent"]["Catch"][0]["Next"] == "ValidateEvent failed"
    # Any input can be caught: the first state wraps it in an object, with what the failure alert names.
    assert states["Received"]["Parameters"] == {"event.$": "$", "accessKeyIds": "unknown - the event could not be read"}
    assert "$.accessKeyIds" in states["NotifyFailure"]["Parameters"]["Message.$"]


def test_activity_settings_reach_the_function(default):
    env = default.one("aws:lambda/function:Function", "credentials-activity-fn")["environment"]["variables"]
    assert (env["ACTIVITY_REGIONS"], env["LOOKBACK_HOURS"], env["MAX_EVENTS"]) == ("us-east-1", "24", "1000")


def program_resources(credential_response: dict, role: str = "primary") -> list[str]:
    """The logical names __main__.py registers for a stack with this credentialResponse config."""
    recorder = Recorder()
    config = {"aws:region": HOME, "opsflows:role": role, "opsflows:snapshots": json.dumps({"retain": 3}),
              "opsflows:credentialResponse": json.dumps(credential_response)}
    if role == "primary":
        config["opsflows:drRegion"] = "us-east-2"
    pulumi.runtime.set_all_config(config)
    pulumi.runtime.set_mocks(recorder, project="opsflows", stack=role, preview=False)
    try:
        pulumi.runtime.test(lambda: runpy.run_path(str(PROJECT_ROOT / "__main__.py"), run_name="__main__") and None)()
    finally:
        pulumi.runtime.set_all_config({})
    return [name for _, name, _ in recorder.resources]


def test_the_primary_stack_deploys_it_unless_disabled_and_the_dr_stack_never():
    assert "credentials-flow-sm" in program_resources({})                     # enabled by default
    assert not [n for n in program_resources({"enabled": False}) if n.startswith("credentials-")]
    assert not [n for n in program_resources({}, role="dr") if n.startswith("credentials-")]


# --- settings ------------------------------------------------------------------------------------------

def settings(credential_response) -> CredentialResponseSettings:
    return load({"role": "primary", "drRegion": "us-east-2", "snapshots": {"retain": 3},
                 "credentialResponse": credential_response}, HOME).credential_response


def test_defaults():
    assert settings(None) == CredentialResponseSettings(activity_regions=("us-east-1",))
    assert settings({"region": "eu-west-1"}).activity_regions == ("eu-west-1",)


@pytest.mark.parametrize("raw, problem", [
    ({"action": "disable"}, "opsflows:credentialResponse.action: got 'disable'; must be one of deactivate, delete"),
    ({"region": "useast1"}, "opsflows:credentialResponse.region: got 'useast1'; must be a region name"),
    ({"lookbackHours": 0}, "opsflows:credentialResponse.lookbackHours: got 0; must be an integer >= 1 and <= 2160"),
    ({"quarantine": "yes"}, "opsflows:credentialResponse.quarantine: got 'yes'; must be true or false"),
    ({"revokeSessions": 1}, "opsflows:credentialResponse.revokeSessions: got 1; must be true or false"),
    ({"activityRegions": ["us-east-1", "mars"]}, "opsflows:credentialResponse.activityRegions: got"),
    ({"lookback": 3}, "opsflows:credentialResponse.lookback: unknown key"),
])
def test_invalid_settings_are_named(raw, problem):
    with pytest.raises(SettingsError) as raised:
        settings(raw)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems
