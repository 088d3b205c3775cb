"""The credential-exposure workflow deployed in the local cloud: Health events in, IAM keys and alerts out.

One deployment serves the module (deploying takes seconds): quarantine and session revocation on, so every
step runs. Each test makes its own users and keys, and reads only the executions and alerts it caused.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from localcloud import LocalCloud
from localcloud.patches import cloudtrail

REGION = "us-east-1"
CODES = ["AWS_RISK_CREDENTIALS_EXPOSED", "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED",
         "AWS_RISK_CREDENTIALS_COMPROMISED", "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED", "AWS_RISK_IAM_QUARANTINE"]
QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
REVOKE_POLICY = "opsflows-revoke-older-sessions"
JSON_MARKER = "--- machine-readable (JSON) ---"


@pytest.fixture(scope="module")
def deployed():
    with LocalCloud() as cloud:
        dep = cloud.deploy("primary", config={"opsflows:credentialResponse": {
            "enabled": True, "quarantine": True, "revokeSessions": True, "lookbackHours": 24}})
        yield cloud, dep.outputs["credentialResponseStateMachineArn"], dep.outputs


@pytest.fixture
def cloud(deployed):
    cloud = deployed[0]
    yield cloud
    cloud.clear_errors()


@pytest.fixture
def machine(deployed):
    return deployed[1]


@pytest.fixture
def outputs(deployed):
    return deployed[2]


def health_event(*keys: str, code: str = "AWS_RISK_CREDENTIALS_EXPOSED") -> dict:
    return {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS Health Event",
            "source": "aws.health", "account": "123456789012", "time": datetime.now(timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"), "region": REGION, "resources": [],
            "detail": {"eventArn": f"arn:aws:health:us-east-1::event/{code}_1", "service": "RISK",
                       "eventTypeCode": code, "eventTypeCategory": "issue",
                       "startTime": "Sat, 05 Jun 2016 15:10:09 GMT",
                       "affectedEntities": [{"entityValue": k} for k in keys]}}


def respond(cloud, machine, *, emit: dict | None = None, start: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Deliver one event (through the rule, or straight to the machine); the executions and alerts it caused."""
    def arns() -> list[str]:
        listed = cloud.client("stepfunctions", REGION).list_executions(stateMachineArn=machine)["executions"]
        return [e["executionArn"] for e in sorted(listed, key=lambda e: e["startDate"])]

    alerts_before, runs_before = len(cloud.alerts()), set(arns())
    if emit is not None:
        cloud.emit(emit, region=REGION)
    else:
        cloud.start(machine, start)
    cloud.run_until_idle()
    return [cloud.execution(a) for a in arns() if a not in runs_before], cloud.alerts()[alerts_before:]


def user_with_keys(cloud, name: str, n: int = 2) -> list[str]:
    iam = cloud.client("iam", REGION)
    iam.create_user(UserName=name)
    return [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(n)]


def key_statuses(cloud, user: str) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in
            cloud.client("iam", REGION).list_access_keys(UserName=user)["AccessKeyMetadata"]}


def policies(cloud, user: str) -> tuple[list[str], list[str]]:
    iam = cloud.client("iam", REGION)
    return ([p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]],
            iam.list_user_policies(UserName=user)["PolicyNames"])


def document(alert: dict) -> dict:
    return json.loads(alert["message"].split(JSON_MARKER, 1)[1])


def seed_activity(key: str, n: int) -> None:
    now = datetime.now(timezone.utc)
    cloudtrail.seed_events([cloudtrail.event(
        "CreateUser" if i % 4 == 0 else "ListBuckets", "iam.amazonaws.com" if i % 4 == 0 else "s3.amazonaws.com",
        access_key_id=key, time=now - timedelta(minutes=i + 1), read_only=i % 4 != 0, source_ip="198.51.100.23",
        resources=(("AWS::IAM::User", "backdoor"),) if i % 4 == 0 else ()) for i in range(n)], region=REGION)


def test_the_primary_stack_exports_the_state_machine_in_us_east_1(machine):
    assert machine.startswith("arn:aws:states:us-east-1:123456789012:stateMachine:credentials-flow-sm")


@pytest.mark.parametrize("code", CODES)
def test_every_credential_event_code_disables_the_key_and_alerts_once(cloud, machine, code):
    user = f"dev-{code.lower().replace('_', '-')}"[:64]
    (key,) = user_with_keys(cloud, user, 1)
    seed_activity(key, 8)

    runs, alerts = respond(cloud, machine, emit=health_event(key, code=code))

    assert [r["status"] for r in runs] == ["SUCCEEDED"]
    assert key_statuses(cloud, user) == {key: "Inactive"}
    assert policies(cloud, user) == ([QUARANTINE], [REVOKE_POLICY])
    (alert,) = alerts
    assert alert["subject"] == f"opsflows SECURITY: exposed key deactivated: {key} ({user})"[:100]
    assert alert["attributes"]["eventTypeCode"] == code and alert["attributes"]["outcome"] == "contained"
    assert document(alert)["keys"][0]["activity"]["byEventName"] == {"ListBuckets": 6, "CreateUser": 2}


def test_other_health_events_start_nothing(cloud, machine):
    (key,) = user_with_keys(cloud, "ops-ec2", 1)
    event = health_event(key)
    event["detail"].update(service="EC2", eventTypeCode="AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED")
    runs, alerts = respond(cloud, machine, emit=event)
    assert (runs, alerts, key_statuses(cloud, "ops-ec2")) == ([], [], {key: "Active"})


def test_two_key_user_only_the_exposed_key_changes_and_the_alert_tells_what_it_did(cloud, machine):
    exposed, other = user_with_keys(cloud, "alice")
    seed_activity(exposed, 130)                                # three pages of CloudTrail
    seed_activity(other, 5)                                    # not the exposed key's: not in the summary

    runs, alerts = respond(cloud, machine, emit=health_event(exposed))

    assert [r["status"] for r in runs] == ["SUCCEEDED"]
    assert key_statuses(cloud, "alice") == {exposed: "Inactive", other: "Active"}
    (alert,) = alerts
    text = alert["message"]
    assert "DEACTIVATED (was Active)" in text and other not in text.split(JSON_MARKER)[0]
    assert "130 events; 33 writes" in text and "CreateUser (33)" in text and "198.51.100.23 (130)" in text
    assert "AWS::IAM::User backdoor (33)" in text
    summary = document(alert)["keys"][0]["activity"]
    assert (summary["events"], summary["complete"]) == (130, True)


def test_one_event_for_two_users_keys_disables_both_and_sends_one_alert(cloud, machine):
    (bob,) = user_with_keys(cloud, "bob", 1)
    (carol,) = user_with_keys(cloud, "carol", 1)
    runs, alerts = respond(cloud, machine, emit=health_event(bob, carol))
    assert [r["status"] for r in runs] == ["SUCCEEDED"]
    assert (key_statuses(cloud, "bob"), key_statuses(cloud, "carol")) == ({bob: "Inactive"}, {carol: "Inactive"})
    (alert,) = alerts
    assert [k["user"] for k in document(alert)["keys"]] == ["bob", "carol"]


def test_the_same_event_delivered_twice_changes_nothing_the_second_time(cloud, machine):
    exposed, other = user_with_keys(cloud, "dave")
    event = health_event(exposed)

    first_runs, first = respond(cloud, machine, start=event)
    after_first = (key_statuses(cloud, "dave"), policies(cloud, "dave"),
                   cloud.client("iam", REGION).get_user_policy(UserName="dave", PolicyName=REVOKE_POLICY))
    second_runs, second = respond(cloud, machine, start=event)
    after_second = (key_statuses(cloud, "dave"), policies(cloud, "dave"),
                    cloud.client("iam", REGION).get_user_policy(UserName="dave", PolicyName=REVOKE_POLICY))

    assert [r["status"] for r in first_runs + second_runs] == ["SUCCEEDED", "SUCCEEDED"]
    assert after_first[:2] == after_second[:2] == ({exposed: "Inactive", other: "Active"}, ([QUARANTINE], [REVOKE_POLICY]))
    assert after_first[2]["PolicyDocument"] == after_second[2]["PolicyDocument"]
    assert document(first[0])["outcome"] == "contained"
    (again,) = second
    assert again["subject"] == f"opsflows SECURITY: exposed key already inactive, nothing changed: {exposed} (dave)"
    assert "Nothing changed" in again["message"] and document(again)["outcome"] == "unchanged"


def test_a_key_that_no_longer_exists_is_reported_with_its_activity(cloud, machine):
    (key,) = user_with_keys(cloud, "erin", 1)
    seed_activity(key, 12)
    iam = cloud.client("iam", REGION)
    iam.delete_access_key(UserName="erin", AccessKeyId=key)
    iam.delete_user(UserName="erin")

    runs, alerts = respond(cloud, machine, emit=health_event(key))

    assert [r["status"] for r in runs] == ["SUCCEEDED"]
    (alert,) = alerts
    assert alert["subject"] == f"opsflows SECURITY: exposed key not found: {key}"
    assert "not found - nothing to disable" in alert["message"] and "12 events" in alert["message"]
    assert document(alert)["keys"][0]["activity"]["events"] == 12


def test_a_failed_disable_alerts_act_now_still_contains_and_ends_failed(cloud, machine):
    exposed, other = user_with_keys(cloud, "frank")
    seed_activity(exposed, 20)
    cloud.inject_error("iam", "UpdateAccessKey", "AccessDenied", "not authorized to perform iam:UpdateAccessKey")

    runs, alerts = respond(cloud, machine, emit=health_event(exposed))

    (run,) = runs
    assert (run["status"], run["error"]) == ("FAILED", "CredentialResponseIncomplete")
    assert "SummariseActivity" in run["states"] and run["states"][-1] == "ResponseIncomplete"
    assert key_statuses(cloud, "frank") == {exposed: "Active", other: "Active"}      # truly not disabled
    assert policies(cloud, "frank") == ([QUARANTINE], [REVOKE_POLICY])              # the rest was done
    (alert,) = alerts                                                                 # exactly one alert
    assert alert["subject"] == f"opsflows SECURITY FAILED: key NOT disabled - act now: {exposed} (frank)"
    assert "key NOT disabled - act now (AccessDenied" in alert["message"]
    assert f"--user-name frank --access-key-id {exposed} --status Inactive" in alert["message"]
    assert "20 events" in alert["message"] and alert["attributes"]["outcome"] == "failed"


def test_a_failed_activity_lookup_says_what_was_done_and_ends_failed(cloud, machine):
    (key,) = user_with_keys(cloud, "grace", 1)
    cloud.inject_error("cloudtrail", "LookupEvents", "AccessDeniedException")

    runs, alerts = respond(cloud, machine, emit=health_event(key))

    assert [r["status"] for r in runs] == ["FAILED"]
    assert key_statuses(cloud, "grace") == {key: "Inactive"}
    (alert,) = alerts
    assert alert["subject"].startswith("opsflows SECURITY FAILED:")
    assert "DEACTIVATED (was Active)" in alert["message"]
    assert "activity NOT summarised (AccessDeniedException" in alert["message"]


def test_a_throttled_lookup_is_retried_and_the_summary_is_complete(cloud, machine):
    (key,) = user_with_keys(cloud, "heidi", 1)
    seed_activity(key, 60)
    cloud.inject_error("cloudtrail", "LookupEvents", "ThrottlingException", times=2)

    runs, alerts = respond(cloud, machine, emit=health_event(key))

    assert [r["status"] for r in runs] == ["SUCCEEDED"]
    assert document(alerts[0])["keys"][0]["activity"]["events"] == 60


def test_an_event_without_affected_entities_alerts_act_now_and_fails(cloud, machine):
    event = health_event()
    del event["detail"]["affectedEntities"]
    runs, alerts = respond(cloud, machine, start=event)
    assert [r["status"] for r in runs] == ["FAILED"]
    assert (runs[0]["error"], "detail.affectedEntities is missing") == (
        "InvalidHealthEvent", "detail.affectedEntities is missing" * ("affectedEntities is missing" in runs[0]["cause"]))
    (alert,) = alerts
    assert alert["subject"] == "opsflows SECURITY FAILED: credential response failed in ValidateEvent - act now"
    assert "may NOT be disabled - act now" in alert["message"]
    assert "detail.affectedEntities is missing: the event names no access key" in alert["message"]


def test_when_the_report_cannot_be_written_one_alert_still_carries_the_results_and_it_fails(cloud, machine):
    (key,) = user_with_keys(cloud, "ivan", 1)
    lam = cloud.client("lambda", REGION)
    (report,) = [f for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith("credentials-report")]
    env = report["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=report["FunctionName"],
                                      Environment={"Variables": {**env, "ACTION": "shred"}})   # breaks the report
    try:
        runs, alerts = respond(cloud, machine, emit=health_event(key))
    finally:
        lam.update_function_configuration(FunctionName=report["FunctionName"], Environment={"Variables": env})

    (run,) = runs
    assert run["status"] == "FAILED" and "ReportFallback" in run["states"]
    assert key_statuses(cloud, "ivan") == {key: "Inactive"}
    (alert,) = alerts
    assert alert["subject"] == "opsflows SECURITY FAILED: credential response report failed - act now"
    assert "may NOT be disabled - act now" in alert["message"] and '"status":"deactivated"' in alert["message"]


# --- alerts reach the subscribers of alertTopicArn ---------------------------------------------------------

def canary_queue(cloud, topic: str, name: str) -> str:
    """An SQS queue subscribed to `topic`, in its region (as the fire drill and an on-call pipeline do)."""
    region = topic.split(":")[3]
    sqs = cloud.client("sqs", region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    cloud.client("sns", region).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url


def received(cloud, url: str) -> list[dict]:
    sqs = cloud.client("sqs", url.split(".")[1] if ".sqs." in url else "us-west-2")
    found = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        for message in got:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_the_report_reaches_a_subscriber_of_the_stacks_alert_topic_in_its_own_region_once(cloud, machine, outputs):
    home, regional = outputs["alertTopicArn"], outputs["credentialAlertTopicArn"]
    assert home.startswith("arn:aws:sns:us-west-2:") and regional.startswith("arn:aws:sns:us-east-1:")
    inbox = canary_queue(cloud, home, "pager-report")
    (key,) = user_with_keys(cloud, "judy", 1)

    runs, alerts = respond(cloud, machine, emit=health_event(key))

    assert [r["status"] for r in runs] == ["SUCCEEDED"]
    assert [a["topic"] for a in alerts] == [home]                      # published once, to alertTopicArn
    (note,) = [m for m in received(cloud, inbox) if key in m["Message"]]
    assert note["TopicArn"] == home and note["Subject"] == f"opsflows SECURITY: exposed key deactivated: {key} (judy)"
    assert note["MessageAttributes"]["outcome"]["Value"] == "contained"


def test_a_failure_alert_reaches_the_stacks_alert_topic_too(cloud, machine, outputs):
    inbox = canary_queue(cloud, outputs["alertTopicArn"], "pager-failure")
    runs, alerts = respond(cloud, machine, start={"source": "aws.health", "detail": "not an object"})
    assert [r["status"] for r in runs] == ["FAILED"]
    assert [a["topic"] for a in alerts] == [outputs["alertTopicArn"]]
    (note,) = received(cloud, inbox)
    assert "credential response failed in ValidateEvent" in note["Subject"] and runs[0]["arn"] in note["Message"]


def test_the_regional_failure_alarm_is_forwarded_to_the_stacks_alert_topic(cloud, outputs):
    home, regional = outputs["alertTopicArn"], outputs["credentialAlertTopicArn"]
    inbox = canary_queue(cloud, home, "pager-alarm")
    watch = cloud.client("cloudwatch", REGION)
    (alarm,) = [a for a in watch.describe_alarms()["MetricAlarms"] if a["AlarmName"].startswith("credentials-flow")]
    assert alarm["AlarmActions"] == [regional]                        # alarms notify topics of their own region
    before = len(cloud.alerts())

    watch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="ALARM", StateReason="1 execution failed")
    watch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="OK", StateReason="recovered")

    assert sorted(a["topic"] for a in cloud.alerts()[before:]) == sorted([regional, home])   # no OK notice
    (note,) = received(cloud, inbox)
    assert note["Subject"].startswith(f'ALARM: "{alarm["AlarmName"]}"')
    assert json.loads(note["Message"])["NewStateValue"] == "ALARM"
    assert note["MessageAttributes"]["forwardedFrom"]["Value"] == regional


def test_an_event_naming_a_key_twice_and_an_arn_contains_the_key_once_and_alerts_act_now(cloud, machine):
    exposed, other = user_with_keys(cloud, "mallory")
    event = health_event(exposed, exposed)
    event["detail"]["affectedEntities"].append({"entityValue": "arn:aws:iam::123456789012:user/mallory"})

    runs, alerts = respond(cloud, machine, start=event)

    (run,) = runs
    assert (run["status"], run["error"]) == ("FAILED", "CredentialResponseIncomplete")
    assert "is an ARN, not an access key id" in run["cause"]
    assert key_statuses(cloud, "mallory") == {exposed: "Inactive", other: "Active"}
    assert cloud.metrics.api_calls["iam.UpdateAccessKey"] >= 1
    (alert,) = alerts
    assert [k["accessKeyId"] for k in document(alert)["keys"]] == [exposed]          # once, though listed twice
    assert "affected entity 'arn:aws:iam::123456789012:user/mallory'" in alert["message"]


# Unicode look-alikes of a key id's characters: Cyrillic capitals, full-width digits.
HOMOGLYPHS = {**dict(zip("ABCEHKMOPTX", "\u0410\u0412\u0421\u0415\u041d\u041a\u041c\u041e\u0420\u0422\u0425")),
              **{d: chr(0xFF10 + int(d)) for d in "0123456789"}}


def look_alike(key: str) -> str:
    """The key with one of its 16 characters after AKIA swapped for a Unicode look-alike."""
    i = next(i for i in range(4, len(key)) if key[i] in HOMOGLYPHS)
    return key[:i] + HOMOGLYPHS[key[i]] + key[i + 1:]


@pytest.mark.parametrize("disguise", [look_alike, lambda key: key + "\n"], ids=["look-alike", "trailing-newline"])
def test_a_disguised_live_key_id_is_refused_not_reported_not_found(cloud, machine, request, disguise):
    user = f"oscar-{request.node.callspec.id}"
    (key,) = user_with_keys(cloud, user, 1)

    runs, alerts = respond(cloud, machine, start=health_event(disguise(key)))

    (run,) = runs
    assert (run["status"], run["error"]) == ("FAILED", "InvalidHealthEvent")
    assert "is not an IAM user access key id" in run["cause"]
    assert key_statuses(cloud, user) == {key: "Active"}
    (alert,) = alerts
    assert alert["subject"] == "opsflows SECURITY FAILED: credential response failed in ValidateEvent - act now"
    assert "is not an IAM user access key id" in alert["message"]
