"""Credential-exposure response: disable the exposed access key, summarise its CloudTrail activity, alert.

AWS Health (service RISK) event -> for each affected key: DisableKey -> [Quarantine] -> [RevokeSessions]
-> SummariseActivity -> WriteReport -> Alert -> Done, or ResponseIncomplete (FAILED) when anything was
not done. Every step of a key runs even when an earlier one failed (a failed disable is exactly when the
quarantine and the activity matter most); its error is kept where its result would be, and the one alert
says what was and was NOT done. The whole component lives in `settings.region` (AWS Health delivers IAM
events in us-east-1), whatever the stack's region; its roles are IAM's, global.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pulumi
import pulumi_aws as aws

from .alerts import AlertTopic, AlertTopicArgs
from .asl import NOTIFY_FAILURE, TRANSIENT, catch_all, definition, invoke
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
# IAM names its throttling error `Throttling` (not ThrottlingException).
IAM_THROTTLING = {"ErrorEquals": ["Throttling"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 6,
                  "JitterStrategy": "FULL"}
# Keys of one event are handled in parallel, a few at a time: LookupEvents allows 2 requests/s per account.
KEYS_AT_ONCE = 4


@dataclass(frozen=True)
class CredentialResponseArgs:
    settings: CredentialResponseSettings
    alert_emails: Sequence[str] = ()
    log_retention_days: int = 30


def key_step(state: str, function_arn: Any, result: str, next: str, retry: Sequence[dict] = ()) -> dict:
    """A per-key Lambda step whose result - or, if it fails, its error - lands at $.<result>, then `next`.
    The last step ends the iteration itself; only its Catch needs the `KeyHandled` state to go to."""
    task = invoke(state, function_arn, next=None if next == "KeyHandled" else next, result_path=f"$.{result}",
                  retry=retry)
    task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.{result}", "Next": next}]
    return task


def per_key_states(*, disable: Any, quarantine: Any | None, revoke: Any | None, activity: Any) -> dict:
    steps = [("DisableKey", disable, "disable", [IAM_THROTTLING]),
             *([("Quarantine", quarantine, "quarantine", [IAM_THROTTLING])] if quarantine else []),
             *([("RevokeSessions", revoke, "revoke", [IAM_THROTTLING])] if revoke else []),
             ("SummariseActivity", activity, "activity", [])]
    states = {}
    for i, (state, arn, result, retry) in enumerate(steps):
        following = steps[i + 1][0] if i + 1 < len(steps) else "KeyHandled"
        states[state] = key_step(state, arn, result, following, retry)
    states["KeyHandled"] = {"Type": "Succeed"}
    return {"StartAt": "DisableKey", "States": states}


def credential_flow(*, disable: Any, quarantine: Any | None, revoke: Any | None, activity: Any, report: Any,
                    alerts_topic_arn: Any) -> dict:
    """The state machine as data (ASL)."""
    states = {
        "ForEachKey": {
            "Type": "Map", "Comment": "Contain and summarise each access key the Health event names",
            "ItemsPath": "$.detail.affectedEntities",
            "ItemSelector": {"accessKeyId.$": "$$.Map.Item.Value.entityValue", "eventTime.$": "$.time"},
            "MaxConcurrency": KEYS_AT_ONCE,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                              **per_key_states(disable=disable, quarantine=quarantine, revoke=revoke,
                                               activity=activity)},
            "ResultPath": "$.keys", "Catch": catch_all("ForEachKey"), "Next": "WriteReport"},
        "WriteReport": {**invoke("WriteReport", report, next="Alert", result_path="$.report",
                                 parameters={"state.$": "$", "execution.$": "$$.Execution.Id"}),
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "ReportFallback"}]},
        # The report could not be written: still one alert, from what the state holds, and FAILED.
        "ReportFallback": {"Type": "Pass", "ResultPath": "$.report", "Next": "Alert", "Parameters": {
            "subject": "opsflows SECURITY FAILED: credential response report failed - act now",
            # No line breaks inside intrinsic strings (not portable ASL): sentences on one line.
            "message.$": ("States.Format('The credential-exposure response could not write its report ({}: {}). "
                          "Each key below may NOT be disabled - act now: check every key in IAM. "
                          "Per-key results: {} -- Health event: {} -- execution: {}', $.failure.Error, "
                          "$.failure.Cause, States.JsonToString($.keys), States.JsonToString($.detail), "
                          "$$.Execution.Id)"),
            "outcome": "failed", "failed": True, "cause.$": "$.failure.Error", "accessKeyIds": "unknown"}},
        "Alert": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {
            "TopicArn": alerts_topic_arn, "Subject.$": "$.report.subject", "Message.$": "$.report.message",
            "MessageAttributes": {
                "workflow": {"DataType": "String", "StringValue": WORKFLOW},
                "outcome": {"DataType": "String", "StringValue.$": "$.report.outcome"},
                "eventTypeCode": {"DataType": "String", "StringValue.$": "$.detail.eventTypeCode"},
                "accessKeyIds": {"DataType": "String", "StringValue.$": "$.report.accessKeyIds"}}},
            "Retry": [TRANSIENT], "ResultPath": None, "Catch": catch_all("Alert"), "Next": "Outcome"},
        "Outcome": {"Type": "Choice", "Default": "Done",
                    "Choices": [{"Variable": "$.report.failed", "BooleanEquals": True, "Next": "ResponseIncomplete"}]},
        "Done": {"Type": "Succeed"},
        "ResponseIncomplete": {"Type": "Fail", "Error": "CredentialResponseIncomplete", "CausePath": "$.report.cause"},
    }
    flow = definition(comment="Disable each exposed access key, summarise its CloudTrail activity, alert security.",
                      start_at="ForEachKey", states=states, workflow=WORKFLOW, alerts_topic_arn=alerts_topic_arn)
    # The shared failure alert, worded for this workflow: when the response itself breaks, nobody knows
    # whether the keys were disabled, and the reader must act.
    flow["States"][NOTIFY_FAILURE]["Parameters"].update({
        "Subject": "opsflows SECURITY FAILED: credential response crashed - act now",
        "Message.$": ("States.Format('opsflows {} FAILED in state {} ({}: {}). The access keys of this AWS Health "
                      "event may NOT be disabled - act now: disable them in IAM by hand. Health event: {} -- "
                      "execution: {}', 'credentials', $.failedState, $.failure.Error, $.failure.Cause, "
                      "States.JsonToString($.detail), $$.Execution.Id)")})
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

        # SNS topics and alarm actions are regional: the component has its own topic in its region.
        alerts = AlertTopic(f"{name}-alerts", AlertTopicArgs(emails=args.alert_emails, region=region), inside)
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
                         "MAX_EVENTS": str(s.max_events)},
            # cloudtrail:LookupEvents supports no resource-level permissions: "*" is the only valid form.
            statements=[allow("cloudtrail:LookupEvents", "*", sid="LookupEventsOnlySupportsStar")],
            **{**common, "timeout": 300}), inside)
        report = Function(f"{name}-report", FunctionArgs(
            handler="report.handler", description="Write the credential-exposure alert",
            environment={"ACTION": s.action, "QUARANTINE": str(s.quarantine).lower(),
                         "REVOKE_SESSIONS": str(s.revoke_sessions).lower()},
            **common), inside)
        functions = [f for f in (disable, quarantine, revoke, activity, report) if f is not None]

        flow = Workflow(f"{name}-flow", WorkflowArgs(
            definition=pulumi.Output.json_dumps(credential_flow(
                disable=disable.arn, quarantine=quarantine.arn if quarantine else None,
                revoke=revoke.arn if revoke else None, activity=activity.arn, report=report.arn,
                alerts_topic_arn=alerts.arn)),
            alerts=alerts, invokes=functions, region=region, log_retention_days=args.log_retention_days,
            description="credential-exposure response"), inside)
        on_event(f"{name}-on-health", pattern=HEALTH_CREDENTIAL_EVENTS, target=flow, region=region,
                 description="AWS Health credential risk -> opsflows credentials", opts=inside)

        self.state_machine_arn = flow.arn
        self.alert_topic_arn = alerts.arn
        self.register_outputs({"stateMachineArn": flow.arn, "alertTopicArn": alerts.arn})
