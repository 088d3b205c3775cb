"""A bucket for a workflow's own working files (run manifests, plans, Map Run results): private, encrypted,
TLS only, and every object under runs/ expired after a week. Nothing a user owns is ever kept there."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .iam import policy_document

RUNS_KEPT_DAYS = 7


def state_bucket(name: str, opts: pulumi.ResourceOptions) -> aws.s3.Bucket:
    """The bucket, with its public access block, owner enforcement, encryption, expiry and TLS-only policy."""
    bucket = aws.s3.Bucket(name, force_destroy=True, opts=opts)          # holds only disposable run files
    aws.s3.BucketPublicAccessBlock(f"{name}-private", bucket=bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
                                   opts=opts)
    aws.s3.BucketOwnershipControls(f"{name}-owner", bucket=bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(
        object_ownership="BucketOwnerEnforced"), opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-sse", bucket=bucket.id, rules=[
        aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.
            BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256"))],
        opts=opts)
    aws.s3.BucketLifecycleConfiguration(f"{name}-expiry", bucket=bucket.id, rules=[
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-run-manifests", status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="runs/"),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=RUNS_KEPT_DAYS))], opts=opts)
    aws.s3.BucketPolicy(f"{name}-tls", bucket=bucket.id, policy=policy_document([{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]), opts=opts)
    return bucket
