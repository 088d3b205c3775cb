"""S3 buckets the program creates block public access (a stack policy: the block is its own resource)."""
from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

BUCKETS = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _known(props, key: str):
    try:
        return props.get(key)
    except UnknownValueError:      # at preview a new bucket's name is unknown: the dependency still links them
        return None


def _names(bucket) -> set[str]:
    """What a public access block's `bucket` input can hold for this bucket: its id / name."""
    return {str(v) for v in (_known(bucket.props, k) for k in ("id", "bucket")) if v}


def validate_buckets_block_public_access(args: StackValidationArgs, report: ReportViolation) -> None:
    blocks = [r for r in args.resources if r.resource_type == BLOCK]
    for bucket in (r for r in args.resources if r.resource_type in BUCKETS):
        covering = [b for b in blocks if bucket in b.property_dependencies.get("bucket", [])
                    or str(_known(b.props, "bucket")) in _names(bucket)]
        if not covering:
            report(f"bucket {bucket.name} has no BucketPublicAccessBlock: add one with all four settings true",
                   bucket.urn)
        for block in covering:
            off = [s for s in SETTINGS if _known(block.props, s) is not True]
            if off:
                report(f"public access block {block.name} of bucket {bucket.name} leaves {', '.join(off)} off",
                       bucket.urn)


buckets_block_public_access = StackValidationPolicy(
    name="s3-block-public-access",
    description="Every S3 bucket the program creates has a public access block with all four settings on.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=validate_buckets_block_public_access,
)
