"""The bucket sync component as registered: settings, IAM scoped to the allowed buckets (parsed), the state
bucket, and the state machine's shape."""
from __future__ import annotations


import pytest

from tests.unit.conftest import definition, policy_statements as statements

from components.settings import SettingsError, load
from localcloud import LocalCloud

ALLOWED = ["sync-src", "sync-dst"]
CONFIG = {"opsflows:bucketSync": {"allowedBuckets": ALLOWED, "maxConcurrency": 7, "scansPerExecution": 9}}


def deployed(config: dict | None = None, stack: str = "primary"):
    with LocalCloud() as cloud:
        return cloud.deploy(stack, config=config)


@pytest.fixture(scope="module")
def primary():
    return deployed(CONFIG)


def asl(deployment) -> dict:
    return definition(deployment, "bucket-sync")


def test_settings_defaults_and_errors():
    base = {"role": "primary", "drRegion": "us-east-2", "snapshots": {"retain": 1}}
    sync = load(base, "us-west-2").bucket_sync
    assert (sync.enabled, sync.multipart_threshold_bytes, sync.pages_per_scan, sync.batch_objects) == \
        (True, 5 * 1024**3, 1000, 1000)
    with pytest.raises(SettingsError) as raised:
        load({**base, "bucketSync": {"allowedBuckets": ["ok-bucket", "ok-bucket", "Bad_Name"],
                                     "multipartThresholdBytes": 1024, "scansPerExecution": 5000,
                                     "typo": 1}}, "us-west-2")
    text = str(raised.value)
    for expected in ("opsflows:bucketSync.allowedBuckets: got", "multipartThresholdBytes: got 1024",
                     "scansPerExecution: got 5000", "opsflows:bucketSync.typo: unknown key"):
        assert expected in text


def test_output_and_only_on_the_primary_stack(primary):
    assert primary.outputs["bucketSyncStateMachineArn"].startswith("arn:aws:states:us-west-2:")
    off = deployed({"opsflows:bucketSync": {"enabled": False, "allowedBuckets": ALLOWED}})
    for deployment in (off,):
        assert "bucketSyncStateMachineArn" not in deployment.outputs
        assert not [r for r in deployment.resources if r.name.startswith("bucket-sync")]


def test_iam_names_exactly_the_allowed_buckets(primary):
    buckets = {f"arn:aws:s3:::{b}" for b in ALLOWED}
    objects = {f"{b}/*" for b in buckets}
    everything = [s for r in ("bucket-sync-validate", "bucket-sync-scan", "bucket-sync-ranges", "bucket-sync-index",
                              "bucket-sync-copy", "bucket-sync-delete", "bucket-sync-flow")
                  for s in statements(primary, r)]
    for s in everything:
        s3_actions = [a for a in s["Action"] if a.startswith("s3:")]
        assert "s3:*" not in s["Action"]
        if s3_actions:
            assert "*" not in s["Resource"]
            sync_resources = {r for r in s["Resource"] if "bucket-sync-state" not in r}
            assert sync_resources <= buckets | objects, s

    def granted(role: str) -> dict[str, set]:
        out: dict[str, set] = {}
        for s in statements(primary, role):
            for action in s["Action"]:
                out.setdefault(action, set()).update(s["Resource"])
        return out

    assert granted("bucket-sync-validate")["s3:ListBucket"] == buckets
    assert granted("bucket-sync-scan")["s3:ListBucket"] == buckets
    (state,) = primary.of_type("aws:s3/bucket:Bucket")
    manifests = f"{state.outputs['arn']}/runs/*"
    copy = granted("bucket-sync-copy")
    assert copy["s3:GetObject"] == objects | {manifests}
    assert copy["s3:PutObject"] == copy["s3:PutObjectTagging"] == objects
    assert "s3:DeleteObject" not in copy
    delete = granted("bucket-sync-delete")
    assert delete["s3:DeleteObject"] == objects and "s3:PutObject" not in delete
    assert granted("bucket-sync-scan")["s3:PutObject"] == {manifests}
    for reader in ("bucket-sync-ranges", "bucket-sync-index"):     # read the allowed buckets, write manifests only
        assert granted(reader)["s3:GetObject"] == objects | {manifests}
        assert granted(reader)["s3:PutObject"] == {manifests} and "s3:DeleteObject" not in granted(reader)


def test_no_allowed_buckets_means_no_bucket_permissions():
    deployment = deployed({"opsflows:bucketSync": {"allowedBuckets": []}})
    for role in ("bucket-sync-validate", "bucket-sync-copy", "bucket-sync-delete"):
        for s in statements(deployment, role):
            assert all("bucket-sync-state" in r for r in s["Resource"] if r.startswith("arn:aws:s3")), s


def test_state_bucket_is_private_encrypted_tls_only_and_expires_manifests(primary):
    types = {r.type for r in primary.resources if r.name.startswith("bucket-sync-state")}
    assert {"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketPolicy:BucketPolicy"} <= types
    (lifecycle,) = primary.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (rule,) = lifecycle.inputs["rules"]
    assert rule["filter"]["prefix"] == "runs/" and rule["expiration"]["days"] == 7


def test_state_machine_fans_out_with_distributed_maps_and_continues_as_new(primary):
    states = asl(primary)["States"]
    assert asl(primary)["StartAt"] == "Receive" and states["Receive"]["Next"] == "Validate"
    for name in ("CopyBatches", "DeleteOrphans"):
        m = states[name]
        assert m["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        assert m["MaxConcurrency"] == 7 and m["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert states["CopyBatches"]["ItemsPath"] == "$.scan.batches"
    assert states["DeleteOrphans"]["ItemReader"]["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    (bound,) = states["Continue?"]["Choices"]
    assert bound["NumericGreaterThanEquals"] == 9 and bound["Next"] == "ContinueAsNew"
    assert states["ContinueAsNew"]["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    for name in ("Validate", "Scan", "ContinueAsNew"):
        assert states[name]["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    assert states["NotifyFailure"]["Next"] == "Failed"
    self_policy = statements(primary, "bucket-sync-flow-self")
    (start,) = [s for s in self_policy if "states:StartExecution" in s["Action"]]
    assert start["Resource"] == [primary.outputs["bucketSyncStateMachineArn"]]
