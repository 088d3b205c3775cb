"""Credential-exposure response under faults: a user with two access keys and another user with one; AWS Health
reports the first user's first key exposed (through the EventBridge rule, as AWS delivers it), with two pages of
CloudTrail activity. The exposed key ends inactive (kept), quarantined and its older sessions revoked; nothing
else in IAM changes; exactly one alert reaches the stack's alert topic per run, whatever failed.

Bad inputs are started on the state machine directly (as the fire drill or an operator would); the ones shaped
like a Health event name the run's exposed key (EXPOSED_KEY), so "nothing changed" means it stayed active.
"""
from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..patches import cloudtrail
from . import FAILED, SUCCEEDED, BadInput, Exercise, FaultCase

REGION = "us-east-1"                      # AWS Health delivers IAM credential events here
QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
REVOKE_POLICY = "opsflows-revoke-older-sessions"
EXPOSED = "EXPOSED_KEY"                   # in a bad input: replaced by the run's exposed key
LOOK_ALIKE = "LOOK_ALIKE_KEY"             # ... by the run's exposed key with a Cyrillic A
EVENTS = 60                               # the exposed key's CloudTrail events: two LookupEvents pages
_runs = itertools.count(1)


def health_event(*entities: Any, code: Any = "AWS_RISK_CREDENTIALS_EXPOSED", service: Any = "RISK", **extra: Any) -> dict:
    """An AWS Health event as EventBridge delivers it (tests/fixtures/events/health-credentials-exposed.json)."""
    detail = {"eventArn": f"arn:aws:health:global::event/IAM/{code}/rehearsal", "service": service,
              "eventTypeCode": code, "eventTypeCategory": "issue", "startTime": "Sat, 05 Jun 2016 15:10:09 GMT",
              "affectedEntities": [{"entityValue": e} for e in entities]}
    return {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS Health Event",
            "source": "aws.health", "account": "123456789012", "region": REGION, "resources": [],
            "detail": {**detail, **extra}}


def without(event: dict, *path: str) -> dict:
    event = json.loads(json.dumps(event))
    *parents, last = path
    target = event
    for p in parents:
        target = target[p]
    del target[last]
    return event


def entities(value: Any) -> dict:
    event = health_event()
    event["detail"]["affectedEntities"] = value
    return event


def cyrillic(text: str) -> str:
    return text.replace("A", "\u0410", 1)          # a Cyrillic A: looks like AKIA..., is not


@dataclass
class Run:
    user: str
    exposed: str
    sibling: str                           # the same user's other key: must stay active
    bystander: str                         # another user
    bystander_key: str
    exposed_inactive_before_rerun: bool = False
    quarantined_before_rerun: bool = False


class Credentials(Exercise):
    workflow = "credentials"
    stacks = {"primary": {"opsflows:credentialResponse": {"quarantine": True, "revokeSessions": True}}}
    output = "credentialResponseStateMachineArn"
    faults = (
        FaultCase(("iam.UpdateAccessKey=ServiceFailure:1",), SUCCEEDED, "an IAM 500 the SDK's own retries absorb"),
        FaultCase(("iam.UpdateAccessKey=ServiceFailure:5",), SUCCEEDED, "IAM 500s beyond the SDK's 4 attempts"),
        FaultCase(("iam.GetAccessKeyLastUsed=Throttling:5",), SUCCEEDED, "IAM throttling beyond the SDK's retries"),
        FaultCase(("iam.AttachUserPolicy=ServiceFailure:5", "iam.PutUserPolicy=Throttling:5"), SUCCEEDED,
                  "IAM 500s and throttling while quarantining and revoking"),
        FaultCase(("iam.ListAccessKeys=NoSuchEntity:1",), SUCCEEDED,
                  "IAM not yet consistent: the key's owner does not list it once"),
        FaultCase(("iam.GetAccessKeyLastUsed=NoSuchEntity:1",), SUCCEEDED,
                  "IAM not yet consistent: the key is not found once (it must not be reported gone)"),
        FaultCase(("cloudtrail.LookupEvents=ThrottlingException:3",), SUCCEEDED,
                  "LookupEvents throttled, as issue 9 writes it: the SDK's own 4 attempts absorb it"),
        FaultCase(("cloudtrail.LookupEvents=ThrottlingException:6",), SUCCEEDED,
                  "LookupEvents throttled beyond the SDK: the summary retries the same page"),
        FaultCase(("cloudtrail.LookupEvents=ThrottlingException:30",), SUCCEEDED,
                  "LookupEvents throttled beyond the summary's own retries: the state machine retries the step"),
        FaultCase(("lambda.Invoke=TooManyRequestsException:3",), SUCCEEDED, "Lambda throttles Step Functions"),
        FaultCase(("lambda.Invoke@credentials-disable=Sandbox.Timedout:1",), SUCCEEDED,
                  "the disable times out after deactivating: retried, reported, no second change"),
        FaultCase(("sns.Publish=Throttled:5", "sns.Publish=InternalError:5", "sns.Publish=KMSThrottling:1"), SUCCEEDED,
                  "SNS throttles the alert and answers 500 beyond the SDK's retries, then KMS throttles"),
        FaultCase(("iam.UpdateAccessKey=AccessDenied",), FAILED, "the disable is denied: act-now alert"),
        FaultCase(("iam.ListAccessKeys=NoSuchEntity",), FAILED,
                  "IAM keeps contradicting itself: the key is reported NOT disabled"),
        FaultCase(("cloudtrail.LookupEvents=AccessDeniedException",), FAILED,
                  "the activity lookup is denied: the key is disabled, the summary missing"),
        FaultCase(("iam.AttachUserPolicy=AccessDenied",), FAILED, "the quarantine policy is denied"),
        FaultCase(("lambda.Invoke@credentials-report=ResourceNotFoundException",), FAILED,
                  "the report function is missing: the fallback report alerts"),
        FaultCase(("sns.Publish=AuthorizationError:1",), FAILED,
                  "the alert topic refuses the report once: the failure alert is the one alert"),
    )
    bad_inputs = (
        BadInput("a list instead of an event", [EXPOSED], "not an AWS Health event (a JSON object)"),
        BadInput("another source", {**health_event(EXPOSED), "source": "aws.ec2"}, "source is 'aws.ec2'"),
        BadInput("no detail", without(health_event(EXPOSED), "detail"), "detail is missing"),
        BadInput("detail of the wrong type", {**health_event(), "detail": [EXPOSED]}, "detail is a list"),
        BadInput("another service's Health event",
                 health_event(EXPOSED, code="AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", service="EC2"),
                 "another service's Health event"),
        BadInput("an unknown event code", health_event(EXPOSED, code="AWS_RISK_CREDENTIALS_LEAKED"), "is unknown"),
        BadInput("an event code of the wrong type", health_event(EXPOSED, code=7), "eventTypeCode 7 is unknown"),
        BadInput("a unicode look-alike event code", health_event(EXPOSED, code="AWS_RISK_CREDENTIALS_EXPOSED\u200b"),
                 "is unknown"),
        BadInput("no affectedEntities", without(health_event(EXPOSED), "detail", "affectedEntities"),
                 "affectedEntities is missing"),
        BadInput("affectedEntities an object", entities({"entityValue": EXPOSED}), "affectedEntities is an object"),
        BadInput("affectedEntities empty", entities([]), "affectedEntities is empty"),
        BadInput("entities that are strings", entities([EXPOSED]), "not an object with an entityValue"),
        BadInput("an entity without entityValue", entities([{"value": EXPOSED}]), "has no entityValue"),
        BadInput("an entityValue of the wrong type", health_event(12345678901234567890), "entityValue is a number"),
        BadInput("a user name, not a key id", health_event("alice"), "is not an IAM user access key id"),
        BadInput("an ARN where the key id is expected", health_event("arn:aws:iam::123456789012:user/alice"),
                 "is an ARN, not an access key id"),
        BadInput("an empty entity value", health_event(""), "entityValue is an empty string"),
        BadInput("a temporary (ASIA) key id", health_event("ASIAIOSFODNN7EXAMPLE"), "temporary (STS) key id"),
        BadInput("a unicode look-alike key id", health_event(LOOK_ALIKE), "is not an IAM user access key id"),
        BadInput("the same non-key listed three times", health_event("alice", "alice", "alice"),
                 "is not an IAM user access key id"),
        BadInput("5,000 entities, none a key id", health_event(*(f"user-{i}" for i in range(5000))), "+4995 more"),
        BadInput("an oversized event (240 KiB) with an unknown code",
                 health_event(EXPOSED, code="AWS_RISK_UNKNOWN",
                              eventDescription=[{"language": "en_US", "latestDescription": "x" * 240 * 1024}]),
                 "is unknown"),
        BadInput("an unparseable event time", {**health_event(EXPOSED), "time": "yesterday at noon"},
                 "not the event's ISO 8601 time"),
    )

    # -- a run's resources -------------------------------------------------------------------------------
    def prepare(self, cloud: Any) -> Run:
        iam = cloud.client("iam", REGION)
        n = next(_runs)
        user, bystander = f"rehearse-{n}", f"bystander-{n}"
        iam.create_user(UserName=user)
        iam.create_user(UserName=bystander)
        exposed, sibling = (iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for _ in range(2))
        bystander_key = iam.create_access_key(UserName=bystander)["AccessKey"]["AccessKeyId"]
        now = datetime.now(timezone.utc)
        cloudtrail.seed_events([cloudtrail.event("ListBuckets", "s3.amazonaws.com", access_key_id=key, username=owner,
                                                 time=now - timedelta(minutes=i + 1))
                                for key, owner, count in ((exposed, user, EVENTS), (sibling, user, 3),
                                                          (bystander_key, bystander, 3))
                                for i in range(count)], region=REGION)
        return Run(user, exposed, sibling, bystander, bystander_key)

    def start(self, cloud: Any, run: Run) -> None:
        cloud.emit(health_event(run.exposed), region=REGION)

    def start_with(self, cloud: Any, run: Run, value: Any) -> None:
        text = json.dumps(value).replace(EXPOSED, run.exposed).replace(LOOK_ALIKE, cyrillic(run.exposed))
        cloud.start(self.state_machine(cloud), json.loads(text))

    def rerun(self, cloud: Any, run: Run, failed: list[dict]) -> None:
        state = self._iam(cloud, run)
        run.exposed_inactive_before_rerun = state["keys"][run.exposed] == "Inactive"
        run.quarantined_before_rerun = QUARANTINE in state["policies"][run.user][0]
        super().rerun(cloud, run, failed)

    # -- end state and rules -----------------------------------------------------------------------------
    def expected(self, cloud: Any, run: Run) -> dict:
        return {"keys": {run.exposed: "Inactive", run.sibling: "Active", run.bystander_key: "Active"},
                "policies": {run.user: ([QUARANTINE], [REVOKE_POLICY]), run.bystander: ([], [])}}

    def observe(self, cloud: Any, run: Run) -> dict:
        return self._iam(cloud, run)

    def violations(self, cloud: Any, run: Run) -> list[str]:
        state = self._iam(cloud, run)
        found = [f"{what} {key} changed: {state['keys'].get(key, 'deleted')}"
                 for what, key in (("the exposed key's sibling", run.sibling), ("another user's key", run.bystander_key))
                 if state["keys"].get(key) != "Active"]
        if run.exposed not in state["keys"]:
            found.append(f"the exposed key {run.exposed} was deleted (action is deactivate: kept for forensics)")
        if state["policies"][run.bystander] != ([], []):
            found.append(f"another user's policies changed: {state['policies'][run.bystander]}")
        return found

    def rerun_violations(self, cloud: Any, run: Run, calls: Counter) -> list[str]:
        found = []
        if run.exposed_inactive_before_rerun and calls.get("iam.UpdateAccessKey"):
            found.append(f"a second key change: the rerun called UpdateAccessKey {calls['iam.UpdateAccessKey']}x "
                         "on a key the first run had disabled")
        if run.quarantined_before_rerun and calls.get("iam.AttachUserPolicy"):
            found.append("the rerun attached the quarantine policy again")
        return found

    def _iam(self, cloud: Any, run: Run) -> dict:
        iam = cloud.client("iam", REGION)
        keys = {k["AccessKeyId"]: k["Status"] for user in (run.user, run.bystander)
                for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
        policies = {user: ([p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]],
                           iam.list_user_policies(UserName=user)["PolicyNames"]) for user in (run.user, run.bystander)}
        return {"keys": keys, "policies": policies}
