"""The fire drill against the local cloud, through the command line (`python -m localcloud drill`) with the
stacks' outputs as `pulumi stack output --json` prints them: the same boto3 calls it makes against AWS.

One deployment of both stacks (primary with genomics on) serves the module; each test ends with no canary left
in AWS (`canaries(cloud) == []`), which is also what most of them assert.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.client import BaseClient
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.elastic_block_store import EBSBackend

from localcloud import LocalCloud
from localcloud.__main__ import main
from localcloud.patches import ebs_snapshot_copies as copies
from localcloud.scenarios.genomics import genomics_config, network
from tests.unit.conftest import policy_statements

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("us-west-2", "us-east-1", "us-east-2")
FAST = ["--poll", "0.02", "--deadline", "30"]   # the local cloud answers in ms; a loaded machine may take seconds
EXERCISES = ["snapshots", "credentials", "bucket-sync", "genomics"]


class Stacks:
    def __init__(self, cloud: LocalCloud, folder: Path):
        self.cloud, self.folder = cloud, folder
        self.deployments = {"primary": cloud.deploy("primary", genomics_config(*network())), "dr": cloud.deploy("dr")}
        self.paths = {stack: self.write(stack, d.outputs) for stack, d in self.deployments.items()}

    def write(self, name: str, outputs: dict) -> str:
        path = self.folder / f"{name}.json"
        path.write_text(json.dumps(outputs, indent=2))          # as `pulumi stack output --json` prints them
        return str(path)

    def outputs(self, stack: str) -> dict:
        return json.loads(Path(self.paths[stack]).read_text())


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    with LocalCloud() as cloud:
        yield Stacks(cloud, tmp_path_factory.mktemp("outputs"))


@pytest.fixture
def cloud(stacks):
    yield stacks.cloud
    stacks.cloud.clear_errors()
    stacks.cloud.run_until_idle()


def run_drill(capsys, stacks, stack: str, *args: str, outputs: str | None = None) -> tuple[int, dict | None, str]:
    """`python -m localcloud drill --stack <stack> --outputs <file> --json ...`: exit code, report, stderr."""
    code = main(["drill", "--stack", stack, "--outputs", outputs or stacks.paths[stack], "--json", *FAST, *args])
    out, err = capsys.readouterr()
    start = out.rfind('{\n  "drill"')            # the handlers running in-process log JSON lines to stdout too
    return code, (json.loads(out[start:]) if start >= 0 else None), err


def outcomes(report: dict) -> dict[str, str]:
    return {e["name"]: e["outcome"] for e in report["exercises"]}


def canaries(cloud) -> list[str]:
    """Every drill canary in AWS: users, volumes, snapshots, buckets, queues, subscriptions."""
    found = [f"user {u['UserName']}" for u in cloud.client("iam", "us-east-1").list_users()["Users"]
             if u["UserName"].startswith("opsflows-drill-") or u["Path"].startswith("/opsflows-drill/")]
    found += [f"bucket {b['Name']}" for b in cloud.client("s3", "us-west-2").list_buckets()["Buckets"]
              if b["Name"].startswith("opsflows-drill-")]
    for region in REGIONS:
        ec2, tagged = cloud.client("ec2", region), [{"Name": "tag-key", "Values": ["opsflows-drill"]}]
        found += [f"snapshot {s['SnapshotId']} ({region})"
                  for s in ec2.describe_snapshots(OwnerIds=["self"], Filters=tagged)["Snapshots"]]
        found += [f"volume {v['VolumeId']} ({region})" for v in ec2.describe_volumes(Filters=tagged)["Volumes"]]
        found += [f"queue {q}" for q in cloud.client("sqs", region).list_queues(
            QueueNamePrefix="opsflows-drill-").get("QueueUrls", [])]
        found += [f"subscription {s['Endpoint']}" for s in cloud.client("sns", region).list_subscriptions()
                  ["Subscriptions"] if "opsflows-drill-" in s["Endpoint"]]
    return sorted(found)


# -- what the drill itself may do: drill/policy.json --------------------------------------------------------
POLICY = json.loads((ROOT / "drill" / "policy.json").read_text())
S3_ACTIONS = {"ListBuckets": "ListAllMyBuckets", "ListObjectsV2": "ListBucket", "ListObjectVersions":
              "ListBucketVersions", "DeleteObjects": "DeleteObject", "PutPublicAccessBlock": "PutBucketPublicAccessBlock"}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}


@contextmanager
def recorded_actions():
    """The IAM actions the drill's calls need (the main thread's calls: the workflows run on others)."""
    actions: set[str] = set()
    original = BaseClient._make_api_call

    def record(client, operation, params):
        if threading.current_thread() is threading.main_thread():
            prefix = client.meta.service_model.signing_name
            actions.add(f"{prefix}:{S3_ACTIONS.get(operation, operation) if prefix == 's3' else operation}")
            if params.get("Tags") or params.get("tags") or params.get("TagSpecifications"):
                actions.add({"iam": "iam:TagUser", "sqs": "sqs:TagQueue", "ec2": "ec2:CreateTags"}.get(prefix, ""))
            if operation == "DeleteObjects" and any("VersionId" in o for o in params["Delete"]["Objects"]):
                actions.add("s3:DeleteObjectVersion")
        return original(client, operation, params)

    BaseClient._make_api_call = record
    try:
        yield actions
    finally:
        BaseClient._make_api_call = original
    actions.discard("")


def assert_policy_allows(actions: set[str]) -> None:
    allowed = {a for s in POLICY["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions - NEEDS_NO_PERMISSION - allowed == set(), "drill/policy.json misses what the drill calls"


# -- the drill passing ---------------------------------------------------------------------------------------
def test_primary_drill_exercises_every_workflow_and_leaves_nothing(capsys, stacks, cloud):
    with recorded_actions() as actions:
        code, report, _ = run_drill(capsys, stacks, "primary")

    assert code == 0 and report["passed"], json.dumps(report, indent=1)
    assert outcomes(report) == dict.fromkeys(EXERCISES, "PASSED")
    cleaned = {e["name"]: " ".join(e["cleaned"]) for e in report["exercises"]}
    assert "volume vol-" in cleaned["snapshots"] and "DR copy snap-" in cleaned["snapshots"]
    assert f"IAM user opsflows-drill-{report['drill']}" in cleaned["credentials"]
    assert cleaned["bucket-sync"].count("bucket opsflows-drill-") == 2
    assert canaries(cloud) == []
    # What the workflows did, read from AWS rather than from the drill's own report:
    prefix = f"opsflows-drill-{report['drill']}-"
    machines = [stacks.deployments["primary"].outputs[name] for name in (
        "credentialResponseStateMachineArn", "bucketSyncStateMachineArn", "genomicsStateMachineArn")]
    runs = {e["name"].removeprefix(prefix): e["status"] for arn in machines for e in cloud.client(
        "stepfunctions", arn.split(":")[3]).list_executions(stateMachineArn=arn)["executions"]
        if e["name"].startswith(prefix)}
    assert runs == {"credentials": "SUCCEEDED", "dry-run": "SUCCEEDED", "sync": "SUCCEEDED", "rerun": "SUCCEEDED",
                    "genomics-invalid": "FAILED"}
    subjects = sorted(a["subject"] for a in cloud.alerts() if report["drill"] in a["message"])
    assert len(subjects) == 2 and subjects[0].startswith("opsflows SECURITY: exposed key deactivated: AKIA")
    assert subjects[1] == "opsflows genomics: execution FAILED"
    assert_policy_allows(actions)


def test_dr_drill_drives_the_dr_workflow_with_a_copy_of_its_own(capsys, stacks, cloud):
    machine = stacks.deployments["dr"].outputs["snapshotStateMachineArn"]
    before = len(cloud.executions(machine))
    with recorded_actions() as actions:
        code, report, _ = run_drill(capsys, stacks, "dr")

    assert code == 0, json.dumps(report, indent=1)
    assert outcomes(report) == {"snapshots": "PASSED", "credentials": "SKIPPED", "bucket-sync": "SKIPPED",
                                "genomics": "SKIPPED"}
    (run,) = cloud.executions(machine)[before:]
    assert run["status"] == "SUCCEEDED" and run["states"][-1] == "Done"          # tagged and retained, not ignored
    assert canaries(cloud) == []
    assert_policy_allows(actions)


# -- the drill failing ---------------------------------------------------------------------------------------
def test_a_workflow_that_cannot_act_fails_the_drill_and_keep_leaves_the_canaries_for_a_look(capsys, stacks, cloud):
    cloud.inject_error("iam", "UpdateAccessKey", "AccessDenied", "not authorized to perform iam:UpdateAccessKey")
    code, report, _ = run_drill(capsys, stacks, "primary", "--only", "credentials", "--keep")

    assert code == 1 and not report["passed"] and report["kept"]
    (credentials,) = report["exercises"]
    failed = {c["what"]: c["found"] for c in credentials["checks"] if not c["passed"]}
    assert credentials["outcome"] == "FAILED" and set(failed) == {
        "the execution SUCCEEDED", "the key is inactive (or deleted, with action: delete)",
        "the alert says the key was contained"}
    assert "FAILED" in failed["the execution SUCCEEDED"]
    key = failed["the key is inactive (or deleted, with action: delete)"].removesuffix(": Active")
    user = f"opsflows-drill-{report['drill']}"
    assert [k["Status"] for k in cloud.client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
            if k["AccessKeyId"] == key] == ["Active"]                     # kept: the key as the workflow left it
    assert {c.split()[0] for c in canaries(cloud)} == {"user", "queue", "subscription"}

    assert main(["drill", "--stack", "primary", "--outputs", stacks.paths["primary"], "--cleanup-only", *FAST]) == 0
    assert canaries(cloud) == []


@contextmanager
def disabled_queue(cloud, stacks):
    queue = stacks.deployments["primary"].outputs["genomicsJobQueueArns"]["low"]
    batch = cloud.client("batch", "us-west-2")
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    try:
        yield
    finally:
        batch.update_job_queue(jobQueue=queue, state="ENABLED")


@contextmanager
def copies_denied(cloud, stacks):
    cloud.inject_error("s3", "CopyObject", "AccessDenied", "not authorized to perform s3:PutObject")
    yield


@pytest.mark.parametrize("exercise, broken, failed", [
    ("genomics", disabled_queue, "every job queue is ENABLED and VALID"),
    ("bucket-sync", copies_denied, "the sync execution SUCCEEDED"),
])
def test_a_broken_workflow_fails_its_exercise(capsys, stacks, cloud, exercise, broken, failed):
    with broken(cloud, stacks):
        code, report, _ = run_drill(capsys, stacks, "primary", "--only", exercise)
    (outcome,) = report["exercises"]
    assert code == 1 and outcome["outcome"] == "FAILED"
    assert failed in [c["what"] for c in outcome["checks"] if not c["passed"]]
    assert canaries(cloud) == []


def test_a_job_the_invalid_genomics_input_submitted_would_be_found(stacks, cloud):
    from drill.context import Drill, Options
    from drill.genomics import submitted_by
    from drill.outputs import StackOutputs
    outputs = stacks.deployments["primary"].outputs
    canary = Drill(StackOutputs.parse("primary", stacks.outputs("primary")), Options(poll=0.02, deadline=1))
    execution = f"{canary.name}-genomics-invalid"
    batch = cloud.client("batch", "us-west-2")
    job = batch.submit_job(jobName="isaac-NA12878", jobQueue=outputs["genomicsJobQueueArns"]["high"],
                           jobDefinition=outputs["genomicsJobDefinitionArns"]["isaac"],
                           tags={"opsflows:execution": execution})["jobId"]
    queues = list(outputs["genomicsJobQueueArns"].values())
    assert submitted_by(batch, queues, execution, canary) == [f"isaac-NA12878 ({job}, SUCCEEDED)"]
    assert submitted_by(batch, queues, f"{canary.name}-other", canary) == []


class Pending:
    """EBS while a copy is in flight: the copy stays `pending`, and deleting a pending snapshot is refused
    (IncorrectState) `refusals` times before it goes."""

    def __init__(self, monkeypatch, refusals: int):
        self.refusals, self.refused = refusals, 0
        original_copy, original_delete = EBSBackend.copy_snapshot, EBSBackend.delete_snapshot

        def copy_snapshot(backend, *args, **kwargs):
            made = original_copy(backend, *args, **kwargs)
            made.status = "pending"
            return made

        def delete_snapshot(backend, snapshot_id):
            snapshot = backend.snapshots.get(snapshot_id)
            if snapshot is not None and snapshot.status == "pending" and self.refused < self.refusals:
                self.refused += 1
                raise EC2ClientError("IncorrectState", f"snapshot {snapshot_id} is pending")
            return original_delete(backend, snapshot_id)

        monkeypatch.setattr(EBSBackend, "copy_snapshot", copy_snapshot)
        monkeypatch.setattr(EBSBackend, "delete_snapshot", delete_snapshot)
        # The local cloud's copies complete after their duration (localcloud.patches.ebs_snapshot_copies): a day.
        monkeypatch.setattr(copies.COPIES, "duration", lambda copy: 86400.0)


def test_a_copy_pending_at_the_deadline_is_said_so_and_what_aws_refuses_to_remove_is_reported(
        capsys, stacks, cloud, monkeypatch):
    pending = Pending(monkeypatch, refusals=10**6)              # refused until the drill's cleanup gives up
    code, report, _ = run_drill(capsys, stacks, "primary", "--only", "snapshots", "--deadline", "2")

    assert code == 1
    (snapshots,) = report["exercises"]
    (failed,) = [c for c in snapshots["checks"] if not c["passed"]]
    assert failed["what"] == "the DR copy completed" and "still pending at the deadline" in failed["found"]
    (copy,) = [c for c in canaries(cloud) if c.startswith("snapshot")]
    (refused,) = snapshots["not_removed"]
    assert copy.split()[1] in refused and "IncorrectState" in refused
    assert len(snapshots["cleaned"]) == 2                        # its source snapshot and volume went

    pending.refused, pending.refusals = 0, 2                     # later, AWS refuses twice more, then lets it go
    assert main(["drill", "--stack", "primary", "--outputs", stacks.paths["primary"], "--cleanup-only", *FAST]) == 0
    assert pending.refused == 2 and canaries(cloud) == []
    assert f"removed 1 leftover" in capsys.readouterr().out


class Killed(BaseException):
    """The drill's process dies here (SIGKILL, a cancelled CI job): nothing of its own cleanup runs."""


def test_an_interrupted_drill_leaves_canaries_that_the_next_drill_removes_first(capsys, stacks, cloud, monkeypatch):
    import drill.cleanup
    import drill.snapshots
    dying, sweep, checked = [], drill.cleanup.sweep, drill.snapshots.primary

    def killed_after_the_checks(*args):
        checked(*args)                                           # volume, snapshot, DR copy, alert queues exist
        dying.append(True)
        raise Killed()

    monkeypatch.setattr(drill.snapshots, "primary", killed_after_the_checks)
    monkeypatch.setattr(drill.cleanup, "sweep", lambda *a, **k: (_ for _ in ()).throw(Killed()) if dying
                        else sweep(*a, **k))
    with pytest.raises(Killed):
        main(["drill", "--stack", "primary", "--outputs", stacks.paths["primary"], "--only", "snapshots,genomics",
              *FAST])
    left = canaries(cloud)
    assert sorted(c.split()[0] for c in left) == ["queue", "snapshot", "snapshot", "subscription", "volume"]
    capsys.readouterr()

    monkeypatch.undo()
    code, report, _ = run_drill(capsys, stacks, "primary", "--only", "snapshots")
    assert code == 0 and outcomes(report) == {"snapshots": "PASSED"}
    removed = " ".join(report["earlierLeftovers"]["removed"])
    for canary in left:
        kind, ident = canary.split()[:2]
        assert ident.rsplit("/", 1)[-1].split(":")[-1] in removed, (canary, removed)
    assert canaries(cloud) == []




# -- what the drill never touches ----------------------------------------------------------------------------
def test_the_cleanup_removes_canaries_of_this_stack_and_nothing_else(capsys, stacks, cloud):
    earlier = {"opsflows-drill": "19990101000000-abcdef", "opsflows-drill-stack": "primary"}
    dr_stack = {**earlier, "opsflows-drill-stack": "dr"}
    iam, s3, ec2 = cloud.client("iam"), cloud.client("s3", "us-west-2"), cloud.client("ec2", "us-east-2")

    def user(name, path, tags):
        iam.create_user(UserName=name, Path=path, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        return name

    def bucket(name, tags):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        s3.put_object(Bucket=name, Key="k", Body=b"x")
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        return name

    def snapshot(tags):
        spec = [{"Key": k, "Value": v} for k, v in tags.items()]
        volume = ec2.create_volume(Size=1, AvailabilityZone="us-east-2a",
                                   TagSpecifications=[{"ResourceType": "volume", "Tags": spec}])["VolumeId"]
        return volume, ec2.create_snapshot(VolumeId=volume, TagSpecifications=[
            {"ResourceType": "snapshot", "Tags": spec}])["SnapshotId"]

    leftover_user = user("opsflows-drill-19990101000000-abcdef", "/opsflows-drill/", earlier)
    iam.create_access_key(UserName=leftover_user)
    iam.attach_user_policy(UserName=leftover_user, PolicyArn="arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3")
    iam.put_user_policy(UserName=leftover_user, PolicyName="opsflows-revoke-older-sessions", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}))
    leftover_bucket = bucket("opsflows-drill-19990101000000-abcdef-src", earlier)
    foreign_bucket = bucket("someone-opsflows-drill", earlier)                          # not a canary's name
    leftover_volume, leftover_snapshot = snapshot(earlier)
    cloud.run_until_idle()
    kept = {
        "users": [user("opsflows-drill-untagged", "/opsflows-drill/", {}),             # not tagged as a canary
                  user("opsflows-drill-of-dr", "/opsflows-drill/", dr_stack),          # the other stack's
                  user("someone-opsflows-drill", "/opsflows-drill/", earlier),         # not a canary's name
                  user("opsflows-drill-nested", "/opsflows-drill/nested/", earlier)],  # not the canaries' path
        "buckets": [bucket("opsflows-drill-untagged", {}), bucket("opsflows-drill-of-dr", dr_stack), foreign_bucket],
        "snapshots": [snapshot(dr_stack), snapshot({"opsflows-drill-stack": "primary"})],   # other stack; no id
    }
    sqs, sns = cloud.client("sqs", "us-west-2"), cloud.client("sns", "us-west-2")
    topic = stacks.deployments["primary"].outputs["alertTopicArn"]

    def queue(name, tags):
        url = sqs.create_queue(QueueName=name, tags=tags)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True
                                  )["SubscriptionArn"]

    leftover_queue, leftover_subscription = queue("opsflows-drill-19990101000000-abcdef-alerts", earlier)
    kept["queues"] = [queue("opsflows-drill-untagged-alerts", {}), queue("opsflows-drill-of-dr-alerts", dr_stack)]
    cloud.run_until_idle()
    try:
        assert main(["drill", "--stack", "primary", "--outputs", stacks.paths["primary"], "--cleanup-only",
                     *FAST]) == 0
        assert "removed 6 leftover(s)" in capsys.readouterr().out
        users = {u["UserName"] for u in iam.list_users()["Users"]}
        buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        snapshots = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
        volumes = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
        assert leftover_user not in users and leftover_bucket not in buckets
        assert leftover_snapshot not in snapshots and leftover_volume not in volumes
        assert set(kept["users"]) <= users and set(kept["buckets"]) <= buckets
        assert {s for _, s in kept["snapshots"]} <= snapshots and {v for v, _ in kept["snapshots"]} <= volumes
        queues = sqs.list_queues(QueueNamePrefix="opsflows-drill-").get("QueueUrls", [])
        subscriptions = {x["SubscriptionArn"] for x in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
        assert leftover_queue not in queues and leftover_subscription not in subscriptions
        assert {u for u, _ in kept["queues"]} <= set(queues) and {x for _, x in kept["queues"]} <= subscriptions
    finally:
        for url, subscription in kept["queues"]:
            sns.unsubscribe(SubscriptionArn=subscription)
            sqs.delete_queue(QueueUrl=url)
        for name in kept["users"]:
            iam.delete_user(UserName=name)
        for name in kept["buckets"]:
            s3.delete_object(Bucket=name, Key="k")
            s3.delete_bucket(Bucket=name)
        for volume, snap in kept["snapshots"]:
            ec2.delete_snapshot(SnapshotId=snap)
            ec2.delete_volume(VolumeId=volume)
    assert canaries(cloud) == []


# -- what stops the drill before it creates anything ---------------------------------------------------------
def other_account(outputs: dict) -> dict:
    return json.loads(json.dumps(outputs).replace(":123456789012:", ":210987654321:"))


@pytest.mark.parametrize("stack, change, args, words", [
    ("primary", lambda o: {**o, "bucketSyncAllowedBuckets": ["prod-site"]}, [],
     ['are not in opsflows:bucketSync.allowedBuckets', 'allowedBuckets: [..., "opsflows-drill-*"]', "--only"]),
    ("primary", lambda o: {k: v for k, v in o.items() if k != "bucketSyncAllowedBuckets"}, [],
     ["no output bucketSyncAllowedBuckets: deploy this version"]),
    ("primary", other_account, [], ["credentials are for account 123456789012", "outputs for 210987654321"]),
    ("dr", None, ["--outputs", "PRIMARY"], ["use --stack primary"]),
    ("primary", lambda o: {k: v for k, v in o.items() if k != "drRegion"}, [], ["no drRegion"]),
    ("dr", None, ["--only", "genomics"], ["does not deploy it (no output genomicsStateMachineArn)"]),
    ("primary", None, ["--only", "snapshot"], ["unknown exercise(s) snapshot"]),
    ("primary", None, ["--outputs", "/nowhere.json"], ["cannot read the stack outputs from /nowhere.json"]),
])
def test_the_drill_refuses_to_start_and_creates_nothing(capsys, stacks, cloud, stack, change, args, words):
    outputs = stacks.paths[stack]
    if change:
        outputs = stacks.write(f"changed-{stack}", change(stacks.outputs(stack)))
    args = [stacks.paths["primary"] if a == "PRIMARY" else a for a in args]
    code = main(["drill", "--stack", stack, "--outputs", outputs, *FAST, *args])
    err = capsys.readouterr().err
    assert code == 2 and all(w in err for w in words), err
    assert canaries(cloud) == []


def test_bucket_sync_iam_reaches_the_drill_buckets_by_prefix_only(stacks):
    deployment = stacks.deployments["primary"]
    granted: dict[str, set] = {}
    for role in ("bucket-sync-validate", "bucket-sync-copy", "bucket-sync-delete"):
        for s in policy_statements(deployment, role):
            for action in (a for a in s["Action"] if a.startswith("s3:")):
                granted.setdefault(action, set()).update(r for r in s["Resource"] if "bucket-sync-state" not in r)
    assert granted["s3:ListBucket"] == {"arn:aws:s3:::opsflows-drill-*"}
    assert granted["s3:PutObject"] == granted["s3:DeleteObject"] == {"arn:aws:s3:::opsflows-drill-*/*"}


def test_the_drill_needs_neither_moto_nor_pulumi():
    """`python -m localcloud drill` runs where only boto3 is installed (drill/requirements.txt)."""
    script = ("import runpy, sys; sys.argv = ['localcloud', 'drill', '--stack', 'dr', '--outputs', '/nowhere'];\n"
              "try: runpy.run_module('localcloud', run_name='__main__', alter_sys=True)\n"
              "except SystemExit as exit: print(exit.code)\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'moto', 'pulumi', 'pulumi_aws', 'yaml', "
              "'pytest'} | {m for m in sys.modules if m.startswith('localcloud.')}), 'drill.runner' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.stdout.split("\n")[:2] == ["2", "[] True"], run.stdout + run.stderr
    assert "cannot read the stack outputs from /nowhere" in run.stderr
