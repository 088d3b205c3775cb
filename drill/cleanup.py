"""Remove canaries: after each exercise (this drill's, by id), and at the start of every drill (whatever an
interrupted drill of the same stack left behind). Both find canaries the same way, from AWS itself:

- IAM users under the path /opsflows-drill/ named opsflows-drill-*, tagged for this stack (keys, inline and
  attached policies go first);
- EBS snapshots and volumes tagged for this stack, in every region the stack acts in (DR copies included:
  they carry the canary's tags); DR copies before their sources, volumes last;
- S3 buckets named opsflows-drill-* tagged for this stack (emptied, every version, first);
- SQS queues named opsflows-drill-* tagged for this stack, and their subscriptions to the stack's topics.

Nothing is removed without both the name/path and the tags saying it is a canary of this stack. AWS may refuse
for a while (a snapshot still pending, a volume still creating): each removal is retried until a deadline, and
whatever is left is reported, never silently kept.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from botocore.exceptions import ClientError

from .context import IAM_PATH, PREFIX, TAG_ID, TAG_STACK, Drill, pages, tags_of

GONE = {"NoSuchEntity", "InvalidSnapshot.NotFound", "InvalidVolume.NotFound", "NoSuchBucket",
        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound"}
KINDS = ("queues", "users", "snapshots", "volumes", "buckets")
CLEANUP_SECONDS = 600          # at most this long retrying what AWS refuses to remove yet


@dataclass
class Sweep:
    removed: list[str] = field(default_factory=list)
    not_removed: list[str] = field(default_factory=list)


def is_canary(drill: Drill, tags: dict[str, str], drill_id: str | None) -> bool:
    """Tagged as a canary of this stack's drills (of drill `drill_id`, when given)."""
    return tags.get(TAG_STACK) == drill.stack and TAG_ID in tags and (drill_id is None or tags[TAG_ID] == drill_id)


def sweep(drill: Drill, kinds: tuple[str, ...] = KINDS, drill_id: str | None = None) -> Sweep:
    """Remove the canaries of drill `drill_id`, or of every earlier drill of this stack (None)."""
    done = Sweep()
    deadline = time.monotonic() + min(drill.options.deadline, CLEANUP_SECONDS)
    for kind in KINDS:
        if kind in kinds:
            REMOVERS[kind](drill, drill_id, done, deadline)
    return done


def _remove(drill: Drill, done: Sweep, label: str, action: Callable[[], Any], deadline: float) -> None:
    """Run `action` until it succeeds, the thing is gone, or the deadline passes (then it is reported)."""
    while True:
        try:
            action()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in GONE:
                return
            if time.monotonic() < deadline:
                time.sleep(drill.options.poll)
                continue
            done.not_removed.append(f"{label} ({code}: {exc.response.get('Error', {}).get('Message', '')})")
            drill.say(f"[cleanup] could NOT remove {label}: {code}")
            return
        done.removed.append(label)
        drill.say(f"[cleanup] removed {label}")
        return


# -- SNS subscriptions and SQS queues (the alert canary) ---------------------------------------------------
def _queues(drill: Drill, drill_id: str | None, done: Sweep, deadline: float) -> None:
    topics = list(drill.outputs.topics.values())
    for region in drill.outputs.regions:
        sqs, sns = drill.client("sqs", region), drill.client("sns", region)
        name_prefix = f"{PREFIX}{drill_id}-" if drill_id else PREFIX
        for url in pages(sqs, "list_queues", "QueueUrls", QueueNamePrefix=name_prefix):
            try:
                tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in GONE:
                    continue
                raise
            if not is_canary(drill, tags, drill_id):
                continue
            for topic in (t for t in topics if t.split(":")[3] == region):
                for sub in pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic):
                    if sub.get("Endpoint") == arn and sub["SubscriptionArn"].startswith("arn:"):
                        _remove(drill, done, f"subscription of {arn.rsplit(':', 1)[1]} to {topic.rsplit(':', 1)[1]}",
                                lambda s=sub["SubscriptionArn"]: sns.unsubscribe(SubscriptionArn=s), deadline)
            _remove(drill, done, f"queue {arn.rsplit(':', 1)[1]} ({region})",
                    lambda u=url: sqs.delete_queue(QueueUrl=u), deadline)


# -- IAM users ---------------------------------------------------------------------------------------------
def _users(drill: Drill, drill_id: str | None, done: Sweep, deadline: float) -> None:
    if not drill.outputs.has("credentialResponseStateMachineArn"):
        return                                   # only the credential exercise makes users
    iam = drill.client("iam", drill.outputs.region_of("credentialResponseStateMachineArn"))
    for user in pages(iam, "list_users", "Users", PathPrefix=IAM_PATH):
        name = user["UserName"]
        if not name.startswith(PREFIX) or user.get("Path") != IAM_PATH:
            continue
        try:
            tags = tags_of(list(pages(iam, "list_user_tags", "Tags", UserName=name)))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in GONE:
                continue
            raise
        if is_canary(drill, tags, drill_id):
            _remove(drill, done, f"IAM user {name} and its keys", lambda n=name: _delete_user(iam, n), deadline)


def _delete_user(iam: Any, name: str) -> None:
    """A user can be deleted only once its keys, login profile and policies are gone (the credential workflow
    may have attached the quarantine policy or put a session-revoking inline policy)."""
    for key in pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name):
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in pages(iam, "list_user_policies", "PolicyNames", UserName=name):
        iam.delete_user_policy(UserName=name, PolicyName=policy)
    for policy in pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name):
        iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
    try:
        iam.delete_login_profile(UserName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
    iam.delete_user(UserName=name)


# -- EBS snapshots and volumes -----------------------------------------------------------------------------
# Only describes canary-tagged resources (a region may hold thousands of snapshots); is_canary decides.
CANARY_TAGGED = [{"Name": "tag-key", "Values": [TAG_ID]}]


def _snapshots(drill: Drill, drill_id: str | None, done: Sweep, deadline: float) -> None:
    found = []
    for region in drill.outputs.regions:
        ec2 = drill.client("ec2", region)
        for snapshot in pages(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"], Filters=CANARY_TAGGED):
            tags = tags_of(snapshot.get("Tags"))
            if is_canary(drill, tags, drill_id):
                found.append((0 if "opsflows:source-snapshot" in tags else 1, region, snapshot))
    for _, region, snapshot in sorted(found, key=lambda f: f[0]):         # copies before their sources
        ec2 = drill.client("ec2", region)
        what = "DR copy" if "opsflows:source-snapshot" in tags_of(snapshot.get("Tags")) else "snapshot"
        _remove(drill, done, f"{what} {snapshot['SnapshotId']} ({region}, {snapshot.get('State')})",
                lambda s=snapshot["SnapshotId"], c=ec2: c.delete_snapshot(SnapshotId=s), deadline)


def _volumes(drill: Drill, drill_id: str | None, done: Sweep, deadline: float) -> None:
    for region in drill.outputs.regions:
        ec2 = drill.client("ec2", region)
        for volume in pages(ec2, "describe_volumes", "Volumes", Filters=CANARY_TAGGED):
            if is_canary(drill, tags_of(volume.get("Tags")), drill_id):
                _remove(drill, done, f"volume {volume['VolumeId']} ({region})",
                        lambda v=volume["VolumeId"], c=ec2: c.delete_volume(VolumeId=v), deadline)


# -- S3 buckets --------------------------------------------------------------------------------------------
def _buckets(drill: Drill, drill_id: str | None, done: Sweep, deadline: float) -> None:
    if not drill.outputs.has("bucketSyncStateMachineArn"):
        return                                   # only the bucket-sync exercise makes buckets
    s3 = drill.client("s3", drill.outputs.region_of("bucketSyncStateMachineArn"))
    prefix = f"{PREFIX}{drill_id}-" if drill_id else PREFIX
    for bucket in pages(s3, "list_buckets", "Buckets"):
        name = bucket["Name"]
        if not name.startswith(prefix):
            continue
        try:
            region = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
            regional = drill.client("s3", region)
            tags = tags_of(regional.get_bucket_tagging(Bucket=name).get("TagSet"))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in GONE | {"NoSuchTagSet"}:
                continue                         # gone, or untagged: not a canary
            raise
        if is_canary(drill, tags, drill_id):
            _remove(drill, done, f"bucket {name} and its objects", lambda n=name, c=regional: _delete_bucket(c, n),
                    deadline)


def _delete_bucket(s3: Any, name: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
        for i in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=name, Delete={"Objects": doomed[i:i + 1000], "Quiet": True})
    s3.delete_bucket(Bucket=name)


REMOVERS = {"queues": _queues, "users": _users, "snapshots": _snapshots, "volumes": _volumes, "buckets": _buckets}
