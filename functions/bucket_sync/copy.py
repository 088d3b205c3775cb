"""Copy one batch of objects (one child execution of the copy Map; its manifest in the state bucket), a few at a time.

Each object is copied only if the source is still the one listed (CopySourceIfMatch). Small single-part objects:
one CopyObject (metadata, content type and tags copied by S3). Objects over the threshold, and every multipart
source: a multipart copy (UploadPartCopy) that reproduces the source's part layout, so the copy's ETag equals the
source's and later runs see it as unchanged from the listing alone. The layout comes from one HEAD with
PartNumber=1 (part size, part count, and the metadata a multipart upload must be given again). When the layout
cannot be reproduced (a single-part source over the threshold, uneven parts), the copy records the source ETag in
its metadata; the merge marks such pairs "verify" and this copier HEADs the destination once before copying.

Per-object errors (source gone or changed, archived object) are counted as failed and the batch goes on.
Account-level errors (AccessDenied, NoSuchBucket, ...) stop the batch: the next Scan ends the run with them.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from common.errors import error_code
from common.handler import lambda_handler

from .model import SyncRequest, is_multipart_etag
from .s3 import copy_client, get_manifest

SOURCE_ETAG = "opsflows-source-etag"      # x-amz-meta- key on multipart copies: the ETag of the source copied
OBJECT_THREADS = 8                        # objects copied at once in one batch
PART_THREADS = 8                          # parts copied at once for one multipart object
MAX_PARTS = 10_000
MIN_PART = 5 * 1024**2
FAILURES_KEPT = 3
# Errors that will fail every other object the same way: stop the batch rather than repeat them.
FATAL = {"AccessDenied", "403", "AllAccessDisabled", "NoSuchBucket", "InvalidAccessKeyId", "ExpiredToken",
         "InvalidToken", "SignatureDoesNotMatch", "AccountProblem", "InvalidBucketState", "KMS.DisabledException",
         "KMS.AccessDeniedException"}
# S3 asking to slow down, or failing, after the copy client's own retries (COPY_RETRIES): not this object's fault.
TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "500", "503"}
# With sourceInventory: the source changed (ETag no longer the inventory's) or went away since the report.
STALE = {"PreconditionFailed", "412", "NoSuchKey", "404"}
# Header values a multipart upload must be given again (UploadPartCopy copies bytes only).
CARRIED = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires",
           "WebsiteRedirectLocation")


def part_ranges(size: int, first_part: int | None, parts: int | None, part_size: int) -> tuple[list[tuple], bool]:
    """Byte ranges for the parts, and whether they reproduce the source's layout (same sizes -> same ETag)."""
    if parts and first_part and parts > 1:
        last = size - first_part * (parts - 1)
        if 0 < last <= first_part:
            return [(i * first_part, min(size, (i + 1) * first_part) - 1) for i in range(parts)], True
    if parts == 1 and first_part == size:
        return [(0, size - 1)], True
    part = max(part_size, MIN_PART, -(-size // MAX_PARTS))
    return [(start, min(size, start + part) - 1) for start in range(0, size, part)], False


class Copier:
    def __init__(self, request: SyncRequest, threshold: int, part_size: int):
        self.source, self.destination = request.source, request.destination
        self.threshold, self.part_size = threshold, part_size
        self.src, self.dst = copy_client(self.source.region), copy_client(self.destination.region)
        self.from_inventory = request.inventory is not None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.out: dict[str, Any] = {"copied": 0, "bytes": 0, "skipped": 0, "failed": 0, "notAttempted": 0,
                                    "stale": 0, "failures": []}

    def run(self, items: list[list]) -> dict:
        with ThreadPoolExecutor(OBJECT_THREADS) as pool:
            list(pool.map(self.one, items))
        return self.out

    def count(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                self.out[name] += delta

    def one(self, item: list) -> None:
        key, size, etag, verify = item
        if self.stopped.is_set():
            self.count(notAttempted=1)
            return
        try:
            if verify and self.recorded_etag(key) == etag:
                self.count(skipped=1)
                return
            if size > self.threshold or (is_multipart_etag(etag) and size > 0):
                self.multipart(key, size, etag)
            else:
                self.dst.copy_object(Bucket=self.destination.bucket, Key=self.destination.key(key),
                                     CopySource=self.copy_source(key), CopySourceIfMatch=f'"{etag}"')
            self.count(copied=1, bytes=size)
        except ClientError as exc:
            code = error_code(exc)
            message = exc.response.get("Error", {}).get("Message", str(exc))
            if code in TRANSIENT:
                raise                                   # the batch fails by that name; the Map child retries it
            with self.lock:
                if self.from_inventory and code in STALE:
                    self.out["stale"] += 1          # changed or deleted since the inventory: the next run
                elif code in FATAL:
                    self.out["notAttempted"] += 1
                    self.out.setdefault("fatal", {"code": code, "message": f"{message} ({self.source.key(key)})"})
                    self.stopped.set()
                else:
                    self.out["failed"] += 1
                    if len(self.out["failures"]) < FAILURES_KEPT:
                        self.out["failures"].append(f"{self.source.key(key)[:200]}: {code}")

    def copy_source(self, key: str) -> dict:
        return {"Bucket": self.source.bucket, "Key": self.source.key(key)}

    def recorded_etag(self, key: str) -> str | None:
        """The source ETag an earlier multipart copy recorded on the destination object (one HEAD)."""
        try:
            head = self.dst.head_object(Bucket=self.destination.bucket, Key=self.destination.key(key))
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey"):
                return None
            raise
        return head.get("Metadata", {}).get(SOURCE_ETAG)

    def multipart(self, key: str, size: int, etag: str) -> None:
        head = self.src.head_object(Bucket=self.source.bucket, Key=self.source.key(key), PartNumber=1,
                                    IfMatch=f'"{etag}"')
        ranges, _ = part_ranges(size, head.get("ContentLength"), head.get("PartsCount"), self.part_size)
        create: dict[str, Any] = {name: head[name] for name in CARRIED if head.get(name)}
        create["Metadata"] = {**head.get("Metadata", {}), SOURCE_ETAG: etag}
        if head.get("TagCount"):
            tags = self.src.get_object_tagging(Bucket=self.source.bucket, Key=self.source.key(key))["TagSet"]
            create["Tagging"] = urlencode([(t["Key"], t["Value"]) for t in tags])
        target = {"Bucket": self.destination.bucket, "Key": self.destination.key(key)}
        upload = self.dst.create_multipart_upload(**target, **create)["UploadId"]
        try:
            def part(numbered: tuple[int, tuple[int, int]]) -> dict:
                number, (start, end) = numbered
                done = self.dst.upload_part_copy(**target, UploadId=upload, PartNumber=number,
                                                 CopySource=self.copy_source(key), CopySourceIfMatch=f'"{etag}"',
                                                 CopySourceRange=f"bytes={start}-{end}")
                return {"PartNumber": number, "ETag": done["CopyPartResult"]["ETag"]}

            with ThreadPoolExecutor(PART_THREADS) as pool:
                parts = list(pool.map(part, enumerate(ranges, start=1)))
            self.dst.complete_multipart_upload(**target, UploadId=upload, MultipartUpload={"Parts": parts})
        except BaseException:
            try:
                self.dst.abort_multipart_upload(**target, UploadId=upload)
            except ClientError:
                pass            # the original error is the one to report; a lifecycle rule cleans up leftovers
            raise


def copy_batch(request: SyncRequest, items: list[list], *, threshold: int, part_size: int) -> dict:
    return Copier(request, threshold, part_size).run(items)


@lambda_handler
def handler(event: dict, context: object) -> dict:
    request = SyncRequest.from_json(event["request"])
    manifest = get_manifest(event["manifest"])
    if manifest.get("source", {}).get("bucket") != request.source.bucket:
        raise ValueError(f"manifest {event['manifest']} is not for the source {request.source.url}")
    return copy_batch(request, manifest["items"],
                      threshold=int(os.environ.get("MULTIPART_THRESHOLD_BYTES", str(5 * 1024**3))),
                      part_size=int(os.environ.get("PART_SIZE_BYTES", str(512 * 1024**2))))
