"""CopyObject and UploadPartCopy with x-amz-copy-source-if-match: AWS copies only if the source's ETag still
matches, else fails with 412 PreconditionFailed. moto ignores the header and copies whatever is there.

Bucket sync copies exactly the object version it listed (so a source overwritten mid-run is reported, not
silently mixed in); this patch makes moto check the condition as AWS does."""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlparse

from moto.s3.exceptions import PreconditionFailed
from moto.s3.responses import S3Response


def _source_etag(response: S3Response) -> str | None:
    copy_source = response.headers.get("x-amz-copy-source")
    if isinstance(copy_source, bytes):
        copy_source = copy_source.decode("utf-8")
    parsed = urlparse(copy_source)
    bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    found = response.backend.get_object(bucket, key, version_id=version)
    return found.etag if found is not None else None


def _guarded(original):
    def copy(self: S3Response):
        wanted = self.headers.get("x-amz-copy-source-if-match")
        if wanted:
            etag = _source_etag(self)
            if etag is not None and wanted.strip('"') != etag.strip('"'):
                raise PreconditionFailed(failed_condition="x-amz-copy-source-If-Match")
        return original(self)
    return copy


def apply() -> None:
    S3Response.copy_object = _guarded(S3Response.copy_object)
    S3Response.upload_part_copy = _guarded(S3Response.upload_part_copy)
