"""Credential-response handlers against moto: disable, quarantine, revoke, activity (CloudTrail), report."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from common import aws as common_aws
from credentials import activity, disable, notify, quarantine, report, revoke, validate
from localcloud import clock, patches
from localcloud.patches import cloudtrail
from localcloud.runtime import HANDLER_TIME

REGION = "us-east-1"
ACCOUNT = "123456789012"
NOW = datetime.now(timezone.utc)


@pytest.fixture
def iam(monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setattr(activity, "BACKOFF_BASE_SECONDS", 0.0)
    for module in (activity, disable):               # their waits on the local cloud's clock, as when deployed
        monkeypatch.setattr(module, "time", HANDLER_TIME)
    clock.install_sdk_backoff()
    patches.apply_all()          # CloudTrail LookupEvents, AWS's quarantine policy, ...
    common_aws._client.cache_clear()
    with mock_aws():
        yield boto3.client("iam", region_name=REGION)
    common_aws._client.cache_clear()


def user_with_keys(iam, name: str, n: int = 2) -> list[str]:
    iam.create_user(UserName=name)
    return [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(n)]


def statuses(iam, user: str) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def fail_calls(operation: str, code: str, times: int | None = None, service: str = "iam", region: str = REGION):
    """Make the handler's own client raise `code` on `operation` (as AWS would), `times` times or always."""
    left = {"n": times}

    def raise_error(**kwargs):
        if left["n"] is not None:
            if left["n"] <= 0:
                return None
            left["n"] -= 1
        raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)

    common_aws.client(service, region).meta.events.register(f"before-call.{service}.{operation}", raise_error)


# --- disable -------------------------------------------------------------------------------------------

def test_deactivate_disables_only_that_key_and_repeats_change_nothing(iam, monkeypatch):
    exposed, other = user_with_keys(iam, "alice")
    monkeypatch.setenv("ACTION", "deactivate")

    first = disable.handler({"accessKeyId": exposed}, None)
    assert statuses(iam, "alice") == {exposed: "Inactive", other: "Active"}
    assert (first["status"], first["user"], first["was"], first["changed"]) == ("deactivated", "alice", "Active", True)

    again = disable.handler({"accessKeyId": exposed}, None)
    assert (again["status"], again["changed"]) == ("already-inactive", False)
    assert statuses(iam, "alice") == {exposed: "Inactive", other: "Active"}


def test_delete_removes_only_that_key(iam, monkeypatch):
    exposed, other = user_with_keys(iam, "alice")
    monkeypatch.setenv("ACTION", "delete")

    assert disable.handler({"accessKeyId": exposed}, None)["status"] == "deleted"
    assert statuses(iam, "alice") == {other: "Active"}
    again = disable.handler({"accessKeyId": exposed}, None)
    assert (again["status"], again["changed"]) == ("not-found", False)


def test_unknown_key_and_deleted_user_are_reported_not_raised(iam, monkeypatch):
    monkeypatch.setenv("ACTION", "deactivate")
    (key,) = user_with_keys(iam, "bob", 1)
    iam.delete_access_key(UserName="bob", AccessKeyId=key)
    iam.delete_user(UserName="bob")

    for step in (lambda e: disable.handler(e, None), lambda e: quarantine.handler(e, None),
                 lambda e: revoke.handler({**e, "eventTime": NOW.isoformat()}, None)):
        for missing in (key, "AKIAIOSFODNN7EXAMPLE"):
            result = step({"accessKeyId": missing})
            assert (result["status"], result["changed"], result["user"]) == ("not-found", False, None)


@pytest.mark.parametrize("value", ["ASIATEMPORARYKEY0000", "AKIAIOSFODNN7EXAMPLE\n"])
def test_not_an_access_key_id_is_a_named_error(iam, value):
    with pytest.raises(Exception) as raised:
        disable.handler({"accessKeyId": value}, None)
    assert type(raised.value).__name__ == "InvalidAccessKeyId"


@pytest.mark.parametrize("action", ["disable", "Deactivate", ""])
def test_an_unknown_action_is_a_named_error_and_deletes_no_key(iam, monkeypatch, action):
    exposed, other = user_with_keys(iam, "alice")
    monkeypatch.setenv("ACTION", action)               # a typo in the function's environment: not a delete
    try:
        outcome = disable.handler({"accessKeyId": exposed}, None)
    except Exception as exc:
        outcome = exc
    assert statuses(iam, "alice") == {exposed: "Active", other: "Active"}
    assert type(outcome).__name__ == "InvalidAction"


@pytest.mark.parametrize("exposed_index", [0, 1])
def test_the_exposed_key_is_judged_by_its_own_status_not_its_siblings(iam, monkeypatch, exposed_index):
    """The user's other key was retired (inactive) before: the exposed key, active, is still deactivated."""
    keys = user_with_keys(iam, "alice")
    exposed, retired = keys[exposed_index], keys[1 - exposed_index]
    iam.update_access_key(UserName="alice", AccessKeyId=retired, Status="Inactive")
    monkeypatch.setenv("ACTION", "deactivate")
    result = disable.handler({"accessKeyId": exposed}, None)
    assert statuses(iam, "alice") == {exposed: "Inactive", retired: "Inactive"}
    assert (result["status"], result["was"], result["changed"]) == ("deactivated", "Active", True)


def test_access_denied_leaves_as_named_error_and_changes_nothing(iam, monkeypatch):
    exposed, other = user_with_keys(iam, "alice")
    monkeypatch.setenv("ACTION", "deactivate")
    fail_calls("UpdateAccessKey", "AccessDenied")
    with pytest.raises(Exception) as raised:
        disable.handler({"accessKeyId": exposed}, None)
    assert type(raised.value).__name__ == "AccessDenied"
    assert statuses(iam, "alice") == {exposed: "Active", other: "Active"}


# --- quarantine, revoke --------------------------------------------------------------------------------

def test_quarantine_attaches_the_aws_policy_once(iam):
    exposed, _ = user_with_keys(iam, "alice")
    user_with_keys(iam, "carol", 1)

    first = quarantine.handler({"accessKeyId": exposed, "disable": {"user": "alice"}}, None)
    again = quarantine.handler({"accessKeyId": exposed}, None)        # owner looked up when not given

    attached = iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [quarantine.QUARANTINE_POLICY_ARN]
    assert iam.list_attached_user_policies(UserName="carol")["AttachedPolicies"] == []
    assert (first["status"], again["status"], again["changed"]) == ("attached", "already-attached", False)


def revoke_cutoff(iam, user: str) -> str:
    document = iam.get_user_policy(UserName=user, PolicyName=revoke.POLICY_NAME)["PolicyDocument"]
    (statement,) = document["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Deny", "*", "*")
    return statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"]


def test_revoke_denies_sessions_issued_before_now_once_per_event(iam):
    exposed, _ = user_with_keys(iam, "alice")
    event_time = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

    first = revoke.handler({"accessKeyId": exposed, "eventTime": event_time}, None)
    cutoff = revoke_cutoff(iam, "alice")
    assert cutoff == first["cutoff"] and event_time < cutoff <= datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    again = revoke.handler({"accessKeyId": exposed, "eventTime": event_time}, None)
    assert (again["status"], again["changed"], revoke_cutoff(iam, "alice")) == ("already-revoked", False, cutoff)


def test_revoke_moves_an_older_cutoff_forward(iam):
    exposed, _ = user_with_keys(iam, "alice")
    iam.put_user_policy(UserName="alice", PolicyName=revoke.POLICY_NAME,
                        PolicyDocument=json.dumps(revoke.revoke_document(NOW - timedelta(days=30))))
    result = revoke.handler({"accessKeyId": exposed, "eventTime": NOW.isoformat()}, None)
    assert result["status"] == "revoked" and revoke_cutoff(iam, "alice") >= NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_revoke_needs_the_event_time(iam):
    exposed, _ = user_with_keys(iam, "alice")
    with pytest.raises(Exception) as raised:
        revoke.handler({"accessKeyId": exposed}, None)
    assert type(raised.value).__name__ == "InvalidEventTime"


# --- activity ------------------------------------------------------------------------------------------

KEY = "AKIAEXPOSEDKEY000001"


def seed_activity(n: int = 120) -> None:
    calls = [("ListBuckets", "s3.amazonaws.com", True, ()),
             ("CreateUser", "iam.amazonaws.com", False, (("AWS::IAM::User", "backdoor"),)),
             ("RunInstances", "ec2.amazonaws.com", False, (("AWS::EC2::Instance", "i-0abc"),))]
    cloudtrail.seed_events([cloudtrail.event(*calls[i % 3][:2], access_key_id=KEY, username="alice",
                                             read_only=calls[i % 3][2], resources=calls[i % 3][3],
                                             time=NOW - timedelta(minutes=i + 1),
                                             source_ip="203.0.113.7" if i % 2 else "198.51.100.9")
                            for i in range(n)])
    cloudtrail.seed_events([   # other keys' events, and this key's events outside the window, must not count
        cloudtrail.event("GetObject", "s3.amazonaws.com", access_key_id="AKIAOTHERKEY00000001", time=NOW),
        cloudtrail.event("DeleteBucket", "s3.amazonaws.com", access_key_id=KEY, time=NOW - timedelta(hours=30)),
    ])


def test_activity_summarises_every_page_of_the_key_in_the_window(iam, monkeypatch):
    monkeypatch.setenv("ACTIVITY_REGIONS", REGION)
    monkeypatch.setenv("LOOKBACK_HOURS", "24")
    monkeypatch.setenv("MAX_EVENTS", "1000")
    seed_activity(120)

    summary = activity.handler({"accessKeyId": KEY}, None)

    assert (summary["events"], summary["complete"], summary["writes"]) == (120, True, 80)
    assert summary["byEventName"] == {"CreateUser": 40, "ListBuckets": 40, "RunInstances": 40}
    assert summary["byEventSource"] == {"ec2.amazonaws.com": 40, "iam.amazonaws.com": 40, "s3.amazonaws.com": 40}
    assert summary["resources"] == {"AWS::EC2::Instance i-0abc": 40, "AWS::IAM::User backdoor": 40}
    assert summary["sourceIps"] == {"198.51.100.9": 60, "203.0.113.7": 60}
    assert summary["firstSeen"] == (NOW - timedelta(minutes=120)).isoformat()
    assert summary["lastSeen"] == (NOW - timedelta(minutes=1)).isoformat()


def test_activity_stops_at_the_bound_and_says_so(iam, monkeypatch):
    monkeypatch.setenv("ACTIVITY_REGIONS", REGION)
    monkeypatch.setenv("MAX_EVENTS", "70")
    seed_activity(120)
    summary = activity.handler({"accessKeyId": KEY}, None)
    assert (summary["events"], summary["complete"], summary["limit"]) == (70, False, 70)


def test_throttled_lookup_is_retried_from_the_same_page(iam, monkeypatch):
    monkeypatch.setenv("ACTIVITY_REGIONS", REGION)
    seed_activity(120)
    fail_calls("LookupEvents", "ThrottlingException", times=3, service="cloudtrail")
    summary = activity.handler({"accessKeyId": KEY}, None)
    assert (summary["events"], summary["complete"]) == (120, True)


def test_persistent_throttling_leaves_as_throttling_exception(iam, monkeypatch):
    monkeypatch.setenv("ACTIVITY_REGIONS", REGION)
    seed_activity(10)
    fail_calls("LookupEvents", "ThrottlingException", service="cloudtrail")
    with pytest.raises(Exception) as raised:
        activity.handler({"accessKeyId": KEY}, None)
    assert type(raised.value).__name__ == "ThrottlingException"     # the state machine's Retry takes over


# --- report --------------------------------------------------------------------------------------------

CONFIG = {"action": "deactivate", "quarantine": True, "revokeSessions": False}


def state(*keys: dict) -> dict:
    return {"id": "ev-1", "time": "2024-05-01T03:00:00Z", "account": ACCOUNT,
            "detail": {"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "eventArn": "arn:aws:health:us-east-1::event/X"},
            "keys": list(keys)}


def document(message: str) -> dict:
    return json.loads(message.split(report.JSON_MARKER, 1)[1])


def test_report_of_a_contained_key_names_who_what_and_activity(iam, monkeypatch):
    monkeypatch.setenv("ACTIVITY_REGIONS", REGION)
    seed_activity(30)
    item = {"accessKeyId": KEY,
            "disable": {"accessKeyId": KEY, "user": "alice", "status": "deactivated", "was": "Active", "changed": True},
            "quarantine": {"user": "alice", "status": "attached", "changed": True},
            "activity": activity.handler({"accessKeyId": KEY}, None)}
    out = report.compose(state(item), "arn:exec", CONFIG)

    assert out["subject"] == f"opsflows SECURITY: exposed key deactivated: {KEY} (alice)"
    assert (out["outcome"], out["failed"]) == ("contained", False)
    text = out["message"]
    assert "DEACTIVATED (was Active)" in text and "AWSCompromisedKeyQuarantineV3 attached to alice" in text
    assert "30 events" in text and "CreateUser (10)" in text and "203.0.113.7 (15)" in text
    assert document(text)["keys"][0]["activity"]["events"] == 30


def test_report_of_a_failed_disable_says_act_now_and_fails(iam):
    error = {"Error": "AccessDenied", "Cause": json.dumps({"errorMessage": "AccessDenied: not authorized"})}
    item = {"accessKeyId": KEY, "disable": error, "quarantine": {"user": "alice", "status": "attached", "changed": True},
            "activity": {"Error": "ThrottlingException", "Cause": "rate exceeded"}}
    out = report.compose(state(item), "arn:exec", CONFIG)

    assert out["failed"] and out["subject"] == f"opsflows SECURITY FAILED: key NOT disabled - act now: {KEY} (alice)"
    assert "key NOT disabled - act now (AccessDenied: AccessDenied: not authorized)" in out["message"]
    assert f"--access-key-id {KEY} --status Inactive" in out["message"]
    assert "activity NOT summarised (ThrottlingException: rate exceeded)" in out["message"]
    assert document(out["message"])["outcome"] == "failed"


def test_report_of_a_repeat_delivery_says_nothing_changed():
    item = {"accessKeyId": KEY, "disable": {"user": "alice", "status": "already-inactive", "changed": False},
            "quarantine": {"user": "alice", "status": "already-attached", "changed": False},
            "activity": {"Error": "x", "Cause": "y"}}
    out = report.compose(state({**item, "activity": {"skipped": "n/a"}}), "arn:exec", CONFIG)
    assert out["outcome"] == "unchanged" and out["subject"] == f"opsflows SECURITY: exposed key already inactive, nothing changed: {KEY} (alice)"
    assert all(32 <= ord(c) < 127 for c in out["subject"]) and len(out["subject"]) <= 100


def test_report_without_keys_fails():
    out = report.compose(state(), "arn:exec", CONFIG)
    assert out["failed"] and "no access key in the event - act now" in out["subject"]


# --- IAM's eventual consistency, a retried disable ----------------------------------------------------------

def test_a_single_no_such_entity_does_not_leave_a_live_key_active(iam, monkeypatch):
    exposed, other = user_with_keys(iam, "alice")
    monkeypatch.setenv("ACTION", "deactivate")
    fail_calls("GetAccessKeyLastUsed", "NoSuchEntity", times=1)      # IAM not yet consistent
    result = disable.handler({"accessKeyId": exposed}, None)
    assert (result["status"], result["user"]) == ("deactivated", "alice")
    assert statuses(iam, "alice") == {exposed: "Inactive", other: "Active"}


@pytest.mark.parametrize("operation", ["ListAccessKeys", "UpdateAccessKey"])
def test_iam_contradicting_itself_is_an_error_to_retry_not_a_missing_key(iam, monkeypatch, operation):
    exposed, _ = user_with_keys(iam, "alice")
    monkeypatch.setenv("ACTION", "deactivate")
    fail_calls(operation, "NoSuchEntity", times=1)
    with pytest.raises(Exception) as raised:
        disable.handler({"accessKeyId": exposed}, None)
    assert type(raised.value).__name__ == "KeyStateInconsistent" and "may still be active" in str(raised.value)
    assert disable.handler({"accessKeyId": exposed}, None)["status"] == "deactivated"      # the retry


def test_a_retried_disable_reports_the_key_its_timed_out_attempt_disabled(iam, monkeypatch):
    (exposed,) = user_with_keys(iam, "alice", 1)
    monkeypatch.setenv("ACTION", "deactivate")
    disable.handler({"accessKeyId": exposed, "attempt": 0}, None)               # ran, then "timed out"
    again = disable.handler({"accessKeyId": exposed, "attempt": 1}, None)
    assert (again["status"], again["afterRetry"]) == ("already-inactive", True)
    out = report.compose(state({"accessKeyId": exposed, "disable": again, "activity": {"skipped": "n/a"}}),
                         "arn:exec", {**CONFIG, "quarantine": False})
    assert out["outcome"] == "contained" and out["subject"] == f"opsflows SECURITY: exposed key inactive: {exposed} (alice)"
    assert "earlier attempt (which timed out) most likely deactivated it" in out["message"]


# --- validate: the Health event ----------------------------------------------------------------------------

def health(**detail) -> dict:
    return {"id": "ev-1", "source": "aws.health", "account": ACCOUNT, "time": "2024-05-01T03:00:00Z",
            "detail": {"service": "RISK", "eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "eventArn": "arn:x",
                       "affectedEntities": [{"entityValue": KEY}], **detail}}


@pytest.mark.parametrize("event, problem", [
    ([KEY], "the input is a list"),
    ({"detail": {}}, "source is None, not 'aws.health'"),
    ({"source": "aws.health"}, "detail is missing"),
    (health(service="EC2"), "another service's Health event"),
    (health(eventTypeCode="AWS_RISK_SOMETHING_NEW"), "'AWS_RISK_SOMETHING_NEW' is unknown"),
    (health(affectedEntities=None), "affectedEntities is missing"),
    (health(affectedEntities={"entityValue": KEY}), "affectedEntities is an object"),
    (health(affectedEntities=[]), "affectedEntities is empty"),
    (health(affectedEntities=[{"entityValue": "arn:aws:iam::123456789012:user/alice"}]), "is an ARN"),
    (health(affectedEntities=[{"entityValue": "ASIAIOSFODNN7EXAMPLE"}]), "temporary (STS) key id"),
    (health(affectedEntities=[{"entityValue": KEY.replace("E", "\u0415", 1)}]),      # a Cyrillic E in the 16
     "is not an IAM user access key id"),
    (health(affectedEntities=[{"entityValue": KEY + "\n"}]), "is not an IAM user access key id"),   # not \Z
    (health(affectedEntities=[{"entityValue": ""}, {"value": KEY}, "x" * 500]),
     "affectedEntities[0] entityValue is an empty string, not an access key id; affectedEntities[1] has no "
     "entityValue; affectedEntities[2] is a string"),
    ({**health(), "time": "yesterday"}, "time is 'yesterday', not the event's ISO 8601 time"),
])
def test_an_event_no_step_can_act_on_is_refused_naming_the_problem(event, problem):
    with pytest.raises(validate.InvalidHealthEvent) as raised:
        validate.check_event(event, "2024-05-01T03:00:00Z")
    assert problem in str(raised.value) and len(str(raised.value)) < 1000


def test_validate_keeps_the_keys_once_and_names_what_it_cannot_act_on():
    keys = [f"AKIA{i:016d}" for i in range(validate.MAX_KEYS + 3)]
    event = health(affectedEntities=[{"entityValue": KEY}, {"entityValue": KEY}, {"entityValue": "alice"},
                                     *({"entityValue": k} for k in keys)], eventDescription=["x" * 100_000])
    del event["time"]
    checked = validate.check_event(event, "2024-05-01T04:00:00.123Z")
    assert [k["accessKeyId"] for k in checked["accessKeys"]] == [KEY, *keys[: validate.MAX_KEYS - 1]]
    assert checked["duplicates"] == 1 and checked["time"] == "2024-05-01T04:00:00Z"
    assert checked["unhandled"] == keys[validate.MAX_KEYS - 1:] and checked["rejected"][0]["entity"] == "'alice'"
    assert len(json.dumps(checked)) < 5000                              # the 100 KB description is not carried on
    out = report.compose({**checked, "keys": []}, "arn:exec", CONFIG)
    assert out["failed"] and "4 more access keys were NOT disabled" in out["message"]
    assert "affected entity 'alice': affectedEntities[2] entityValue 'alice' is not an IAM user access key id" in out["cause"]


# --- notify: the alert topic of another region ----------------------------------------------------------------

@pytest.fixture
def topic(iam, monkeypatch):
    """The stack's alert topic in us-west-2, a queue subscribed to it; the function runs in us-east-1."""
    notify.sns.cache_clear()
    sns, sqs = boto3.client("sns", region_name="us-west-2"), boto3.client("sqs", region_name="us-west-2")
    arn = sns.create_topic(Name="alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="pager")["QueueUrl"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    monkeypatch.setenv("TOPIC_ARN", arn)

    def inbox() -> list[dict]:
        return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
    yield arn, inbox
    notify.sns.cache_clear()


def test_notify_publishes_to_the_topic_of_another_region_within_sns_limits(topic):
    arn, inbox = topic
    notify.handler({"Subject": "opsflows SECURITY: key d\u00e9activated\n" + "x" * 200, "Message": "\u00e9" * 300_000,
                    "MessageAttributes": {"outcome": {"DataType": "String", "StringValue": "contained"},
                                          "empty": {"DataType": "String", "StringValue": ""}}}, None)
    (note,) = inbox()
    assert note["TopicArn"] == arn and len(note["Subject"]) == 100 and note["Subject"].isascii()
    assert "\n" not in note["Subject"] and note["MessageAttributes"] == {"outcome": {"Type": "String", "Value": "contained"}}
    assert len(note["Message"].encode()) <= 256 * 1024 and note["Message"].endswith(notify.CUT_NOTE)


def test_notify_forwards_the_regional_topics_notifications(topic):
    arn, inbox = topic
    notify.handler({"Records": [{"EventSource": "aws:sns", "Sns": {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:credentials-alerts", "Subject": 'ALARM: "x" in US East',
        "Message": '{"NewStateValue": "ALARM"}'}}]}, None)
    (note,) = inbox()
    assert (note["Subject"], note["Message"]) == ('ALARM: "x" in US East', '{"NewStateValue": "ALARM"}')
    assert note["MessageAttributes"]["forwardedFrom"]["Value"] == "arn:aws:sns:us-east-1:123456789012:credentials-alerts"


def test_notify_refuses_an_alert_without_a_message(topic):
    with pytest.raises(notify.InvalidAlert):
        notify.handler({"Subject": "x"}, None)


# --- activity: LookupEvents' quota ------------------------------------------------------------------------

def test_the_summary_keeps_lookup_events_under_its_quota(iam, monkeypatch):
    """At a clock scale where the local cloud's own work is small next to the quota's half second, six pages in a
    row would be throttled from the third on; paced, none is."""
    monkeypatch.setenv("LOCALCLOUD_TIME_SCALE", "0.1")
    clock.restart()
    monkeypatch.setenv("ACTIVITY_REGIONS", REGION)
    seed_activity(300)
    before = cloudtrail.lookup_stats(REGION)
    summary = activity.handler({"accessKeyId": KEY}, None)
    after = cloudtrail.lookup_stats(REGION)
    assert (summary["events"], summary["complete"], summary["lookups"]["pages"]) == (300, True, 6)
    assert (after["requests"] - before["requests"], after["throttled"] - before["throttled"]) == (6, 0)


def test_keys_of_one_event_share_the_quota_and_paging_stops_before_the_timeout(iam, monkeypatch):
    assert activity.share(2, 4, 10) == 0.5 and activity.share(2, 4, 1) == 2 and activity.share(2, 4, None) == 2
    monkeypatch.setenv("ACTIVITY_REGIONS", REGION)
    seed_activity(120)

    class Ending:
        left = [60_000, 60_000, 1_000]

        def get_remaining_time_in_millis(self):
            return self.left.pop(0) if len(self.left) > 1 else self.left[0]
    summary = activity.handler({"accessKeyId": KEY}, Ending())
    assert (summary["events"], summary["complete"], summary["stopped"]) == (100, False, "time")
    assert "stopped before the function's time limit" in "\n".join(report.activity_lines(summary)[0])


def test_lookup_events_refuses_more_than_two_requests_a_second(iam, monkeypatch):
    """The local cloud's model of the quota, on the one clock (at a scale where a request costs ~0.01 s of it)."""
    monkeypatch.setenv("LOCALCLOUD_TIME_SCALE", "0.1")
    clock.restart()
    trail = boto3.client("cloudtrail", region_name="eu-west-1", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    lookup = {"LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": KEY}]}
    trail.lookup_events(**lookup)
    trail.lookup_events(**lookup)                      # a burst of two is allowed
    with pytest.raises(ClientError) as raised:
        trail.lookup_events(**lookup)
    assert (raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]) == (
        "ThrottlingException", "Rate exceeded")
    clock.sleep(0.5)                                   # one request's worth refills in half a second
    trail.lookup_events(**lookup)
    assert cloudtrail.lookup_stats("eu-west-1") == {"requests": 4, "throttled": 1}


def test_a_contained_key_with_entities_no_step_could_act_on_still_fails_the_report():
    item = {"accessKeyId": KEY, "disable": {"user": "alice", "status": "deactivated", "was": "Active", "changed": True},
            "activity": {"skipped": "n/a"}}
    rejected = {"entity": "'arn:aws:iam::123456789012:user/bob'", "reason": "affectedEntities[1] entityValue "
                "'arn:aws:iam::123456789012:user/bob' is an ARN, not an access key id (AKIA...)"}
    out = report.compose({**state(item), "rejected": [rejected], "rejectedTotal": 1}, "arn:exec",
                         {**CONFIG, "quarantine": False})
    assert out["failed"] and out["subject"] == "opsflows SECURITY FAILED: response incomplete - act now"
    assert "DEACTIVATED (was Active)" in out["message"] and "is an ARN, not an access key id" in out["cause"]
