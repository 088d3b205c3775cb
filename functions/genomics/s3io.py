"""S3 objects as streams: a samplesheet or a Map Run's result file is read a megabyte at a time (never whole, so a
sheet of any size fits one Lambda), and what we write is spooled to a temporary file, then uploaded (multipart
when large).

S3 errors a retry can cure (throttling, 5xx) leave as named AWS errors the state machine retries with backoff;
the others are the caller's to name (a samplesheet that does not exist is a bad input, not an outage).
"""
from __future__ import annotations

import io
import tempfile
from typing import IO, Any

from botocore.exceptions import ClientError

from common.aws import client
from common.errors import error_code

TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "500", "503",
             "ThrottlingException", "Throttling", "RequestLimitExceeded"}
MISSING = {"NoSuchKey", "NoSuchBucket", "404"}
CHUNK = 1 << 20
SPOOL_BYTES = 8 << 20


def s3() -> Any:
    return client("s3")


def is_transient(exc: ClientError) -> bool:
    return error_code(exc) in TRANSIENT


class _Body(io.RawIOBase):
    """A botocore StreamingBody as a raw binary stream (what io's buffering and text layers wrap)."""

    def __init__(self, body: Any):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def open_text(bucket: str, key: str, newline: str | None = None) -> IO[str]:
    """The object as UTF-8 text (a byte-order mark is dropped), read as it is consumed. ClientError as is."""
    body = s3().get_object(Bucket=bucket, Key=key)["Body"]
    return io.TextIOWrapper(io.BufferedReader(_Body(body), CHUNK), encoding="utf-8-sig", newline=newline)


class Spool:
    """Text written here is kept in memory while small, on /tmp beyond SPOOL_BYTES, then uploaded as one object."""

    def __init__(self) -> None:
        self._binary = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")
        self._text = io.TextIOWrapper(self._binary, encoding="utf-8", newline="")
        self.size = 0

    def write(self, text: str) -> None:
        self.size += self._text.write(text)

    def upload(self, bucket: str, key: str, content_type: str) -> None:
        """One PutObject, or a multipart upload when large (the SDK's transfer manager decides)."""
        self._text.flush()
        self._binary.seek(0)
        s3().upload_fileobj(self._binary, bucket, key, ExtraArgs={"ContentType": content_type})

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._text.close()
