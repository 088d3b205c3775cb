"""The S3 calls bucket sync makes: where a bucket is, its listing page by page, and the state bucket's manifests."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from common.aws import client, home_region
from common.errors import aws_error, error_code

from .merge import Entry
from .model import BucketNotFound, BucketNotReachable, Location, clean_etag

PAGE_SIZE = 1000            # ListObjectsV2's maximum: the lower bound counts pages of 1,000


def s3(region: str | None = None) -> Any:
    return client("s3", region)


# S3 answers bursts of writes to one prefix with 503 SlowDown and asks clients to back off and retry: the copier's
# client retries more than the default (with backoff), so a throttled object is
# copied late rather than counted as failed.
COPY_RETRIES = Config(retries={"mode": "standard", "max_attempts": 10})


@lru_cache(maxsize=None)
def _copy_client(region: str) -> Any:
    return boto3.client("s3", region_name=region, config=COPY_RETRIES)


def copy_client(region: str | None) -> Any:
    return _copy_client(region or home_region())


def bucket_region(bucket: str) -> str:
    """The bucket's region, from one HeadBucket, which also proves that it exists and that we may list it."""
    try:
        response = s3().head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket"):
            raise BucketNotFound(f"bucket {bucket!r} does not exist") from exc
        if code in ("403", "AccessDenied"):
            raise BucketNotReachable(f"bucket {bucket!r} exists but this workflow may not list it (403)") from exc
        if code in ("500", "503", "SlowDown", "InternalError", "ServiceUnavailable"):
            # a HEAD answer has no body: S3's 5xx arrive as bare status codes; the state machine retries these names
            raise aws_error({"503": "SlowDown", "500": "InternalError"}.get(code, code))(
                f"HeadBucket {bucket!r}: {code}") from exc
        raise BucketNotReachable(f"bucket {bucket!r} answered HeadBucket with {code}") from exc
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return response.get("BucketRegion") or headers.get("x-amz-bucket-region") or home_region()


def listing(location: Location, start_after: str | None) -> Iterator[tuple[list[Entry], bool]]:
    """The objects under the location's prefix after `start_after` (relative), one page (one request) at a time,
    each with whether more pages follow. Keys come back relative to the prefix; the paginator fetches a page only
    when the merge asks for it."""
    params: dict[str, Any] = {"Bucket": location.bucket, "Prefix": location.prefix,
                              "PaginationConfig": {"PageSize": PAGE_SIZE}}
    if start_after is not None:
        params["StartAfter"] = location.key(start_after)
    cut = len(location.prefix)
    for page in s3(location.region).get_paginator("list_objects_v2").paginate(**params):
        yield ([Entry(o["Key"][cut:], o["Size"], clean_etag(o["ETag"])) for o in page.get("Contents", [])],
               bool(page.get("IsTruncated")))


def state_bucket() -> str:
    return os.environ["STATE_BUCKET"]


def put_manifest(key: str, body: Any) -> None:
    """A JSON manifest in the state bucket (owned by opsflows, expired by a lifecycle rule)."""
    s3().put_object(Bucket=state_bucket(), Key=key, Body=json.dumps(body, separators=(",", ":")).encode(),
                    ContentType="application/json")


def get_manifest(key: str) -> Any:
    return json.loads(s3().get_object(Bucket=state_bucket(), Key=key)["Body"].read())
