"""Credentials exercise: a canary IAM user opsflows-drill-<id> with one access key; the credential-response state
machine is started with a synthetic AWS Health event for that key (aws.health events cannot be put on a bus);
the key must end inactive (or deleted, with action: delete), one alert must name it, the execution SUCCEED."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from .alerts import AlertInbox, describe, exactly_one
from .context import IAM_PATH, Drill
from .executions import finished, start, summary
from .report import Run

NAME = "credentials"
NEEDS = ("credentialResponseStateMachineArn",)
KINDS = ("users",)
EVENT_CODE = "AWS_RISK_CREDENTIALS_EXPOSED"


def preflight(drill: Drill) -> None:
    drill.outputs.arn("credentialResponseStateMachineArn")


def health_event(drill: Drill, region: str, key: str, user: str) -> dict:
    """An AWS Health event as EventBridge delivers it (the shape of tests/fixtures/events/health-*.json)."""
    now = datetime.now(timezone.utc)
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS Health Event", "source": "aws.health",
            "account": drill.outputs.account, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": [], "detail": {
                "eventArn": f"arn:aws:health:global::event/IAM/{EVENT_CODE}/{drill.name}",
                "service": "RISK", "eventTypeCode": EVENT_CODE, "eventTypeCategory": "issue",
                "startTime": now.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                "eventDescription": [{"language": "en_US", "latestDescription":
                                      f"opsflows fire drill {drill.id}: a synthetic exposure of the canary key of "
                                      f"IAM user {user}. No real key is affected."}],
                "affectedEntities": [{"entityValue": key}]}}


def run(drill: Drill, run: Run, inbox: AlertInbox) -> None:
    machine = drill.outputs.arn("credentialResponseStateMachineArn")
    region = machine.split(":")[3]
    iam = drill.client("iam", region)
    user = drill.name
    iam.create_user(UserName=user, Path=IAM_PATH, Tags=drill.tag_list())
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]      # the secret is never kept
    run.step(f"created canary IAM user {user} ({IAM_PATH}) with access key {key}")
    # IAM is eventually consistent: the workflow must find the key's owner the way it will tonight.
    known = drill.until(lambda: _owner(iam, key) == user)
    run.require("IAM knows the new key's owner", bool(known), _owner(iam, key))

    execution = start(drill, machine, f"{drill.name}-credentials", health_event(drill, region, key, user))
    run.step(f"started {execution.rsplit(':', 1)[-1]} with a synthetic {EVENT_CODE} event for {key}")
    described = finished(drill, execution)
    run.check("the execution SUCCEEDED", bool(described) and described["status"] == "SUCCEEDED",
              summary(described) if described else "still RUNNING at the deadline")
    keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    run.check("the key is inactive (or deleted, with action: delete)", keys.get(key, "deleted") in ("Inactive", "deleted"),
              f"{key}: {keys.get(key, 'deleted')}")
    alerts = inbox.matching(lambda m: key in str(m.get("Message", "")))
    run.check("exactly one alert names the key", exactly_one(alerts),
              "; ".join(describe(a) for a in alerts) or "no alert on " + ", ".join(inbox.topics()))
    if alerts:
        outcome = (alerts[0].get("MessageAttributes") or {}).get("outcome", {}).get("Value")
        run.check("the alert says the key was contained", outcome == "contained", f"outcome {outcome!r}")


def _owner(iam, key: str) -> str | None:
    try:
        return iam.get_access_key_last_used(AccessKeyId=key).get("UserName")
    except ClientError:
        return None
