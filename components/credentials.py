"""Credential-exposure response: disable the exposed access key, summarise its CloudTrail activity, alert.

AWS Health (service RISK) event -> ValidateEvent -> for each affected key: DisableKey -> [Quarantine] ->
[RevokeSessions] -> SummariseActivity -> WriteReport -> Alert -> Done, or ResponseIncomplete (FAILED) when
anything was not done. Every step of a key runs even when an earlier one failed (a failed disable is exactly when
the quarantine and the activity matter most); its error is kept where its result would be, and the one alert
says what was and was NOT done. The component lives in `settings.region` (AWS Health delivers IAM events in
us-east-1), whatever the stack's region; its roles are IAM's, global.

Alerts: every alert (the report, the report fallback, the failure alert) goes to the stack's alert topic
(`alertTopicArn`). Step Functions cannot publish to another Region's topic, so when `settings.region` is not the
stack's region a function (`notify`) publishes for the states; the ExecutionsFailed alarm, which can only notify
a topic of its own Region, notifies a regional topic (`credentialAlertTopicArn`) whose only subscriber is that
same function, forwarding the notification to the alert topic. In the stack's own region there is no second
path: the states publish with sns:publish and the alarm notifies the alert topic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pulumi
import pulumi_aws as aws

from .alerts import AlertTopic, AlertTopicArgs
from .asl import NOTIFY_FAILURE, SNS_TRANSIENT, TRANSIENT, catch_all, definition, invoke
from .function import Function, FunctionArgs
from .iam import allow
from .settings import CredentialResponseSettings
from .workflow import Workflow, WorkflowArgs, on_event

WORKFLOW = "credentials"
EVENT_CODES = ("AWS_RISK_CREDENTIALS_EXPOSED", "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED",
               "AWS_RISK_CREDENTIALS_COMPROMISED", "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED",
               "AWS_RISK_IAM_QUARANTINE")
HEALTH_CREDENTIAL_EVENTS = {"source": ["aws.health"], "detail-type": ["AWS Health Event"],
                            "detail": {"service": ["RISK"], "eventTypeCode": list(EVENT_CODES)}}
# AWS's own policy for compromised keys (the one AWS attaches for AWS_RISK_IAM_QUARANTINE), current version.
QUARANTINE_POLICY_ARN = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
# IAM names its throttling error `Throttling` (not ThrottlingException) and its 500 `ServiceFailure`;
# KeyStateInconsistent is IAM contradicting itself (eventual consistency), ConcurrentModification its 409.
IAM_TRANSIENT = {"ErrorEquals": ["Throttling", "ServiceFailure", "ConcurrentModification", "KeyStateInconsistent"],
                 "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 6, "JitterStrategy": "FULL"}
# A function that timed out is tried again: every step is idempotent (the disable reports a key its timed-out
# attempt disabled), and the notify function cannot time out after its publish (functions/credentials/notify.py).
TIMED_OUT = {"ErrorEquals": ["Sandbox.Timedout"], "IntervalSeconds": 2, "BackoffRate": 2.0, "MaxAttempts": 2}
# Keys of one event are handled in parallel, a few at a time; each summary paces itself to its share of
# LookupEvents' 2 requests/s per account and Region.
KEYS_AT_ONCE = 4
LOOKUP_RATE = 2
NOTIFY_TIMEOUT = 60             # above notify.SDK_WORST_CASE_SECONDS (tests/unit checks)


@dataclass(frozen=True)
class CredentialResponseArgs:
    settings: CredentialResponseSettings
    alerts: AlertTopic                  # the stack's alert topic (alertTopicArn): every alert goes there
    home_region: str                    # the stack's region, where `alerts` is
    log_retention_days: int = 30


def key_step(state: str, function_arn: Any, result: str, next: str, retry: Sequence[dict] = (),
             parameters: dict | None = None) -> dict:
    """A per-key Lambda step whose result - or, if it fails, its error - lands at $.<result>, then `next`.
    The last step ends the iteration itself; only its Catch needs the `KeyHandled` state to go to."""
    task = invoke(state, function_arn, next=None if next == "KeyHandled" else next, result_path=f"$.{result}",
                  retry=retry, parameters=parameters)
    task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.{result}", "Next": next}]
    return task


def per_key_states(*, disable: Any, quarantine: Any | None, revoke: Any | None, activity: Any) -> dict:
    # The disable step is told which attempt it is, to report a key its own timed-out attempt disabled.
    steps = [("DisableKey", disable, "disable", [IAM_TRANSIENT, TIMED_OUT],
              {"accessKeyId.$": "$.accessKeyId", "attempt.$": "$$.State.RetryCount"}),
             *([("Quarantine", quarantine, "quarantine", [IAM_TRANSIENT, TIMED_OUT], None)] if quarantine else []),
             *([("RevokeSessions", revoke, "revoke", [IAM_TRANSIENT, TIMED_OUT], None)] if revoke else []),
             ("SummariseActivity", activity, "activity", [TIMED_OUT], None)]
    states = {}
    for i, (state, arn, result, retry, parameters) in enumerate(steps):
        following = steps[i + 1][0] if i + 1 < len(steps) else "KeyHandled"
        states[state] = key_step(state, arn, result, following, retry, parameters)
    states["KeyHandled"] = {"Type": "Succeed"}
    return {"StartAt": "DisableKey", "States": states}


def publish(parameters: dict, *, topic_arn: Any, notify: Any | None) -> dict:
    """A state publishing one alert (SNS Publish parameters without TopicArn) to the alert topic: with
    sns:publish when the topic is in this region (`notify` None), else through the notify function."""
    if notify is None:
        return {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic_arn, **parameters}, "Retry": [SNS_TRANSIENT, TRANSIENT]}
    return {"Type": "Task", "Resource": notify, "Parameters": parameters,
            "Retry": [SNS_TRANSIENT, TIMED_OUT, TRANSIENT]}


def credential_flow(*, validate: Any, disable: Any, quarantine: Any | None, revoke: Any | None, activity: Any,
                    report: Any, alerts_topic_arn: Any, notify: Any | None = None) -> dict:
    """The state machine as data (ASL). `notify`: the function that publishes the alerts (None: the states do)."""
    states = {
        # Any JSON may start an execution: wrapped, it is an object every later Catch can add its error to.
        "Received": {"Type": "Pass", "Next": "ValidateEvent", "Parameters": {
            "event.$": "$", "accessKeyIds": "unknown - the event could not be read"}},
        "ValidateEvent": invoke("ValidateEvent", validate, next="ForEachKey", retry=[TIMED_OUT],
                                parameters={"event.$": "$.event", "startTime.$": "$$.Execution.StartTime"}),
        "ForEachKey": {
            "Type": "Map", "Comment": "Contain and summarise each access key the Health event names",
            "ItemsPath": "$.accessKeys",
            "ItemSelector": {"accessKeyId.$": "$$.Map.Item.Value.accessKeyId", "eventTime.$": "$.time",
                             "keysInEvent.$": "$.accessKeyCount"},
            "MaxConcurrency": KEYS_AT_ONCE,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                              **per_key_states(disable=disable, quarantine=quarantine, revoke=revoke,
                                               activity=activity)},
            "ResultPath": "$.keys", "Catch": catch_all("ForEachKey"), "Next": "WriteReport"},
        "WriteReport": {**invoke("WriteReport", report, next="Alert", result_path="$.report", retry=[TIMED_OUT],
                                 parameters={"state.$": "$", "execution.$": "$$.Execution.Id"}),
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "ReportFallback"}]},
        # The report could not be written: still one alert, from what the state holds, and FAILED.
        "ReportFallback": {"Type": "Pass", "ResultPath": "$.report", "Next": "Alert", "Parameters": {
            "subject": "opsflows SECURITY FAILED: credential response report failed - act now",
            # No line breaks inside intrinsic strings (not portable ASL): sentences on one line. Only what
            # validation bounded goes in (never the whole event: a message must fit SNS's 256 KiB).
            "message.$": ("States.Format('The credential-exposure response could not write its report ({}: {}). "
                          "Each key below may NOT be disabled - act now: check every key in IAM. "
                          "Per-key results: {} -- Health event {} ({}), access keys {} -- execution: {}', "
                          "$.failure.Error, $.failure.Cause, States.JsonToString($.keys), $.detail.eventArn, "
                          "$.detail.eventTypeCode, $.accessKeyIds, $$.Execution.Id)"),
            "outcome": "failed", "failed": True, "cause.$": "$.failure.Error", "accessKeyIds.$": "$.accessKeyIds"}},
        "Alert": {**publish({
            "Subject.$": "$.report.subject", "Message.$": "$.report.message",
            "MessageAttributes": {
                "workflow": {"DataType": "String", "StringValue": WORKFLOW},
                "outcome": {"DataType": "String", "StringValue.$": "$.report.outcome"},
                "eventTypeCode": {"DataType": "String", "StringValue.$": "$.detail.eventTypeCode"},
                "accessKeyIds": {"DataType": "String", "StringValue.$": "$.report.accessKeyIds"}}},
            topic_arn=alerts_topic_arn, notify=notify),
            "ResultPath": None, "Catch": catch_all("Alert"), "Next": "Outcome"},
        "Outcome": {"Type": "Choice", "Default": "Done",
                    "Choices": [{"Variable": "$.report.failed", "BooleanEquals": True, "Next": "ResponseIncomplete"}]},
        "Done": {"Type": "Succeed"},
        "ResponseIncomplete": {"Type": "Fail", "Error": "CredentialResponseIncomplete", "CausePath": "$.report.cause"},
    }
    flow = definition(comment="Disable each exposed access key, summarise its CloudTrail activity, alert security.",
                      start_at="Received", states=states, workflow=WORKFLOW, alerts_topic_arn=alerts_topic_arn)
    # The shared failure alert, worded for this workflow: when the response itself breaks, nobody knows
    # whether the keys were disabled, and the reader must act. It names only what every path holds.
    shared = flow["States"][NOTIFY_FAILURE]
    parameters = {k: v for k, v in shared["Parameters"].items() if k not in ("TopicArn", "Subject", "Message.$")}
    parameters.update({
        "Subject.$": "States.Format('opsflows SECURITY FAILED: credential response failed in {} - act now', "
                     "$.failedState)",
        "Message.$": ("States.Format('opsflows {} FAILED in state {} ({}: {}). The access keys of this AWS Health "
                      "event may NOT be disabled - act now: disable them in IAM by hand. Access keys: {} -- "
                      "execution: {}', 'credentials', $.failedState, $.failure.Error, $.failure.Cause, "
                      "$.accessKeyIds, $$.Execution.Id)")})
    parameters["MessageAttributes"] = {**parameters["MessageAttributes"],
                                       "outcome": {"DataType": "String", "StringValue": "failed"}}
    flow["States"][NOTIFY_FAILURE] = {**publish(parameters, topic_arn=alerts_topic_arn, notify=notify),
                                      "ResultPath": None, "Next": shared["Next"]}
    return flow


class CredentialResponse(pulumi.ComponentResource):
    """AWS Health credential-risk events -> disable the key, summarise what it did, alert security."""

    def __init__(self, name: str, args: CredentialResponseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:credentials:CredentialResponse", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        s = args.settings
        region = s.region
        common = dict(package="credentials", region=region, log_retention_days=args.log_retention_days, timeout=30)
        # The exposed key's user is known only at run time; IAM scopes these actions to users, no tighter.
        users = pulumi.Output.concat("arn:aws:iam::", aws.get_caller_identity_output().account_id, ":user/*")

        notify = alarm_topic = None
        if region != args.home_region:
            # Alarm actions are regional: the ExecutionsFailed alarm notifies a topic here, forwarded home.
            alarm_topic = AlertTopic(f"{name}-alerts", AlertTopicArgs(region=region), inside)
            notify = Function(f"{name}-notify", FunctionArgs(
                handler="notify.handler", description="Publish the credential response's alerts to alertTopicArn",
                environment={"TOPIC_ARN": args.alerts.arn}, statements=args.alerts.publish_statements(),
                **{**common, "timeout": NOTIFY_TIMEOUT}), inside)
            allowed = aws.lambda_.Permission(f"{name}-notify-from-alerts", action="lambda:InvokeFunction",
                                             function=notify.name, principal="sns.amazonaws.com",
                                             source_arn=alarm_topic.arn, region=region, opts=inside)
            aws.sns.TopicSubscription(f"{name}-alerts-forward", topic=alarm_topic.arn, protocol="lambda",
                                      endpoint=notify.arn, region=region,
                                      opts=pulumi.ResourceOptions(parent=self, depends_on=[allowed]))
        alarm_topic = alarm_topic or args.alerts

        validate = Function(f"{name}-validate", FunctionArgs(
            handler="validate.handler", description="Read the AWS Health event: the access keys it names", **common),
            inside)
        disable = Function(f"{name}-disable", FunctionArgs(
            handler="disable.handler", description=f"Disable ({s.action}) an exposed access key",
            environment={"ACTION": s.action}, statements=[
                allow(["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys",
                       "iam:UpdateAccessKey" if s.action == "deactivate" else "iam:DeleteAccessKey"],
                      users, sid="DisableUsersKey")], **common), inside)
        quarantine = Function(f"{name}-quarantine", FunctionArgs(
            handler="quarantine.handler", description="Attach AWS's compromised-key quarantine policy",
            statements=[
                allow(["iam:GetAccessKeyLastUsed", "iam:ListAttachedUserPolicies"], users, sid="FindUserPolicies"),
                allow("iam:AttachUserPolicy", users, sid="AttachQuarantineOnly",
                      condition={"ArnEquals": {"iam:PolicyARN": QUARANTINE_POLICY_ARN}})],
            **common), inside) if s.quarantine else None
        revoke = Function(f"{name}-revoke", FunctionArgs(
            handler="revoke.handler", description="Deny the user's sessions issued before now",
            statements=[allow(["iam:GetAccessKeyLastUsed", "iam:GetUserPolicy", "iam:PutUserPolicy"], users,
                              sid="RevokeOlderSessions")],
            **common), inside) if s.revoke_sessions else None
        activity = Function(f"{name}-activity", FunctionArgs(
            handler="activity.handler", description="Summarise an access key's CloudTrail activity",
            environment={"ACTIVITY_REGIONS": ",".join(s.activity_regions or (region,)), "LOOKBACK_HOURS": str(s.lookback_hours),
                         "MAX_EVENTS": str(s.max_events), "LOOKUP_RATE": str(LOOKUP_RATE),
                         "KEYS_AT_ONCE": str(KEYS_AT_ONCE)},
            # cloudtrail:LookupEvents supports no resource-level permissions: "*" is the only valid form.
            statements=[allow("cloudtrail:LookupEvents", "*", sid="LookupEventsOnlySupportsStar")],
            **{**common, "timeout": 300}), inside)
        report = Function(f"{name}-report", FunctionArgs(
            handler="report.handler", description="Write the credential-exposure alert",
            environment={"ACTION": s.action, "QUARANTINE": str(s.quarantine).lower(),
                         "REVOKE_SESSIONS": str(s.revoke_sessions).lower()},
            **common), inside)
        functions = [f for f in (validate, disable, quarantine, revoke, activity, report, notify) if f is not None]

        flow = Workflow(f"{name}-flow", WorkflowArgs(
            definition=pulumi.Output.json_dumps(credential_flow(
                validate=validate.arn, disable=disable.arn, quarantine=quarantine.arn if quarantine else None,
                revoke=revoke.arn if revoke else None, activity=activity.arn, report=report.arn,
                alerts_topic_arn=args.alerts.arn, notify=notify.arn if notify else None)),
            alerts=alarm_topic, states_publish_alerts=notify is None, invokes=functions, region=region,
            log_retention_days=args.log_retention_days, description="credential-exposure response"), inside)
        on_event(f"{name}-on-health", pattern=HEALTH_CREDENTIAL_EVENTS, target=flow, region=region,
                 description="AWS Health credential risk -> opsflows credentials", opts=inside)

        self.state_machine_arn = flow.arn
        # The topic of the response's own Region its ExecutionsFailed alarm notifies (forwarded to `alerts`);
        # the stack's alert topic itself when the response runs in the stack's region.
        self.alert_topic_arn = alarm_topic.arn
        self.register_outputs({"stateMachineArn": flow.arn, "alertTopicArn": alarm_topic.arn})
