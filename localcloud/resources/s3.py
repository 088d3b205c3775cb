"""S3: buckets and their settings (public access block, ownership, encryption, lifecycle, policy), in moto."""
from __future__ import annotations

import json
from typing import Any

import boto3

from . import Created, creates


def _s3(c: Created) -> Any:
    return boto3.client("s3", region_name=c.region)


@creates("aws:s3/bucket:Bucket")
def bucket(c: Created) -> tuple[str, dict]:
    name = c.physical_name(63, key="bucket", prefix_key="bucketPrefix").lower()
    params: dict[str, Any] = {"Bucket": name}
    if c.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": c.region}
    _s3(c).create_bucket(**params)
    return name, {**c.inputs, "bucket": name, "arn": f"arn:aws:s3:::{name}", "region": c.region,
                  "bucketDomainName": f"{name}.s3.amazonaws.com",
                  "bucketRegionalDomainName": f"{name}.s3.{c.region}.amazonaws.com"}


@creates("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def public_access_block(c: Created) -> tuple[str, dict]:
    i = c.inputs
    _s3(c).put_public_access_block(Bucket=i["bucket"], PublicAccessBlockConfiguration={
        "BlockPublicAcls": bool(i.get("blockPublicAcls")), "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
        "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
        "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets"))})
    return i["bucket"], dict(i)


@creates("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
def ownership_controls(c: Created) -> tuple[str, dict]:
    rule = c.inputs["rule"]
    _s3(c).put_bucket_ownership_controls(Bucket=c.inputs["bucket"], OwnershipControls={
        "Rules": [{"ObjectOwnership": rule["objectOwnership"]}]})
    return c.inputs["bucket"], dict(c.inputs)


@creates("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
def encryption(c: Created) -> tuple[str, dict]:
    rules = []
    for rule in c.inputs["rules"]:
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        made: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default["sseAlgorithm"]}}
        if default.get("kmsMasterKeyId"):
            made["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        if rule.get("bucketKeyEnabled") is not None:
            made["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
        rules.append(made)
    _s3(c).put_bucket_encryption(Bucket=c.inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules})
    return c.inputs["bucket"], dict(c.inputs)


@creates("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def lifecycle(c: Created) -> tuple[str, dict]:
    rules = []
    for rule in c.inputs["rules"]:
        made: dict[str, Any] = {"ID": rule["id"], "Status": rule["status"],
                                "Filter": {"Prefix": (rule.get("filter") or {}).get("prefix", "")}}
        if rule.get("expiration"):
            made["Expiration"] = {"Days": int(rule["expiration"]["days"])}
        if rule.get("abortIncompleteMultipartUpload"):
            made["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])}
        rules.append(made)
    _s3(c).put_bucket_lifecycle_configuration(Bucket=c.inputs["bucket"], LifecycleConfiguration={"Rules": rules})
    return c.inputs["bucket"], dict(c.inputs)


@creates("aws:s3/bucketPolicy:BucketPolicy")
def bucket_policy(c: Created) -> tuple[str, dict]:
    policy = c.inputs["policy"]
    _s3(c).put_bucket_policy(Bucket=c.inputs["bucket"],
                             Policy=policy if isinstance(policy, str) else json.dumps(policy))
    return c.inputs["bucket"], dict(c.inputs)
