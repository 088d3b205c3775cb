"""Credential exposure: a user with two access keys, AWS Health reports one exposed, and the key's
CloudTrail activity spans several pages."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from ..patches import cloudtrail
from . import Play, scenario

REGION = "us-east-1"              # AWS Health delivers IAM credential events here
EVENTS = 130                      # three LookupEvents pages of 50
JSON_MARKER = "--- machine-readable (JSON) ---"


def health_event(key: str) -> dict:
    return {"source": "aws.health", "detail-type": "AWS Health Event", "resources": [], "detail": {
        "eventArn": "arn:aws:health:us-east-1::event/AWS_RISK_CREDENTIALS_EXPOSED_REHEARSAL", "service": "RISK",
        "eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "eventTypeCategory": "issue",
        "startTime": datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "eventDescription": [{"language": "en_US", "latestDescription": "Your access key was found on GitHub."}],
        "affectedEntities": [{"entityValue": key}]}}


@scenario("credentials", needs=("primary",))
def credentials(play: Play) -> None:
    """Expose one of a user's two keys: only it is disabled; one alert summarises its 130 CloudTrail events."""
    cloud = play.cloud
    iam = cloud.client("iam", REGION)
    iam.create_user(UserName="svc-deploy")
    exposed, other = (iam.create_access_key(UserName="svc-deploy")["AccessKey"]["AccessKeyId"] for _ in range(2))
    iam.create_user(UserName="svc-backup")
    bystander = iam.create_access_key(UserName="svc-backup")["AccessKey"]["AccessKeyId"]
    now = datetime.now(timezone.utc)
    calls = [("ListBuckets", "s3.amazonaws.com", True, ()), ("GetObject", "s3.amazonaws.com", True,
                                                             (("AWS::S3::Object", "backups/db.dump"),)),
             ("CreateAccessKey", "iam.amazonaws.com", False, (("AWS::IAM::AccessKey", "svc-deploy"),)),
             ("RunInstances", "ec2.amazonaws.com", False, (("AWS::EC2::Instance", "i-0bad"),))]
    cloudtrail.seed_events([cloudtrail.event(
        name, source, access_key_id=exposed, username="svc-deploy", read_only=read_only, resources=resources,
        time=now - timedelta(minutes=5 * i + 1), source_ip=("203.0.113.66" if i % 3 else "198.51.100.4"))
        for i, (name, source, read_only, resources) in ((i, calls[i % 4]) for i in range(EVENTS))], region=REGION)
    cloudtrail.seed_events([cloudtrail.event("ListBuckets", "s3.amazonaws.com", access_key_id=other,
                                             time=now - timedelta(minutes=3))], region=REGION)

    alerts_before = len(cloud.alerts())
    cloud.emit(health_event(exposed), region=REGION)
    cloud.run_until_idle()

    machine = play.output("primary", "credentialResponseStateMachineArn")
    runs = cloud.executions(machine)
    play.check("one execution, SUCCEEDED", [r["status"] for r in runs] == ["SUCCEEDED"],
               [(r["status"], r["error"], r["cause"]) for r in runs])
    keys = {k["AccessKeyId"]: k["Status"] for user in ("svc-deploy", "svc-backup")
            for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    play.check("the exposed key is inactive (kept for forensics)", keys.get(exposed) == "Inactive", keys)
    play.invariant("no access key other than the exposed one changed (the user's other key, another user's key)",
                   keys.get(other) == keys.get(bystander) == "Active", keys)
    play.invariant("the exposed key is kept (action deactivate never deletes it)", exposed in keys, keys)
    play.invariant("another user's policies are untouched", not iam.list_attached_user_policies(
        UserName="svc-backup")["AttachedPolicies"] and not iam.list_user_policies(UserName="svc-backup")["PolicyNames"])
    play.state(f"IAM: svc-deploy {exposed} {keys.get(exposed)}, {other} {keys.get(other)}; "
               f"svc-backup {bystander} {keys.get(bystander)}")

    alerts = cloud.alerts()[alerts_before:]
    home = play.output("primary", "alertTopicArn")
    play.invariant("every alert reached the stack's alert topic (alertTopicArn), whatever the response's region",
                   all(a["topic"] == home for a in alerts), [(a["topic"], a["subject"]) for a in alerts])
    play.check("exactly one alert", len(alerts) == 1, [a["subject"] for a in alerts])
    if alerts:
        alert = alerts[0]
        play.check("the subject names the key, its user and what was done",
                   alert["subject"] == f"opsflows SECURITY: exposed key deactivated: {exposed} (svc-deploy)",
                   alert["subject"])
        summary = json.loads(alert["message"].split(JSON_MARKER, 1)[1])["keys"][0].get("activity", {})
        play.check(f"the summary covers all {EVENTS} events (every page)",
                   (summary.get("events"), summary.get("complete")) == (EVENTS, True), summary.get("events"))
        play.check("the summary counts calls and sources", summary.get("byEventName", {}).get("CreateAccessKey") == 32
                   and summary.get("sourceIps", {}).get("198.51.100.4") == 44, summary)
        play.check("the other key's activity is not in the summary", other not in alert["message"])
        play.state(f"SNS: \"{alert['subject']}\" ({len(alert['message'])} characters, text + JSON)")
    pages = cloud.metrics.api_calls.get("cloudtrail.LookupEvents", 0)
    play.check(f"CloudTrail read in {-(-EVENTS // 50)} pages", pages == -(-EVENTS // 50), pages)
    quota = cloudtrail.lookup_stats(REGION)
    play.check("LookupEvents never over its quota (2 requests/s)", quota["throttled"] == 0, quota)
