"""HeadObject with PartNumber: AWS answers with the object's own headers (ETag, metadata, content type, tag
count, ...), the part's length as Content-Length, and the object's part count. moto answers with the part's
headers: no metadata, no content type, the part's ETag (so If-Match on the object's ETag fails with 412).

Bucket sync reads a multipart source's part layout and metadata from this one HEAD; this patch makes moto
answer as AWS does."""
from __future__ import annotations

from typing import Any

from moto.s3.models import FakeKey, S3Backend


class _PartView:
    """The object as HEAD with PartNumber shows it: the object's attributes, the part's length."""

    def __init__(self, whole: FakeKey, part: FakeKey):
        self._whole, self._part = whole, part

    def __getattr__(self, name: str) -> Any:
        return getattr(self._whole, name)

    @property
    def size(self) -> int:
        return self._part.size

    @property
    def response_dict(self) -> dict:
        return {**self._whole.response_dict, "content-length": str(self._part.size)}


def apply() -> None:
    original = S3Backend.head_object

    def head_object(self, bucket_name, key_name, version_id=None, part_number=None):
        if not part_number:
            return original(self, bucket_name, key_name, version_id)
        whole = original(self, bucket_name, key_name, version_id)
        if whole is None or not getattr(whole, "multipart", None):
            return original(self, bucket_name, key_name, version_id, part_number)
        part = original(self, bucket_name, key_name, version_id, part_number)
        return _PartView(whole, part) if part is not None else None

    S3Backend.head_object = head_object
