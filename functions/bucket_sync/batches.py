"""Copy work cut into batches: one batch is one child execution of the copy Map, so it must fit a Step Functions
payload (256 KiB) and a Lambda invocation (15 minutes)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .merge import Copy

BATCH_BYTES = 16 * 1024**3          # data one child copies server-side (keeps a batch well inside 15 minutes)
BATCH_PAYLOAD = 200 * 1024          # JSON bytes of one batch's items (Step Functions allows 256 KiB per input)


def item(copy: Copy) -> list:
    """A copy as the copier receives it: [relative key, size, source ETag, verify (1/0)]."""
    return [copy.entry.key, copy.entry.size, copy.entry.etag, 1 if copy.verify else 0]


@dataclass
class Batcher:
    max_objects: int
    max_bytes: int = BATCH_BYTES
    max_payload: int = BATCH_PAYLOAD
    batches: list[list[list]] = field(default_factory=list)
    copies: int = 0
    bytes: int = 0
    _size: int = 0          # object bytes in the open batch
    _payload: int = 0       # JSON bytes in the open batch

    def add(self, copy: Copy) -> None:
        entry = item(copy)
        payload = len(json.dumps(entry)) + 1          # ASCII-escaped: an upper bound of the UTF-8 size
        open_batch = self.batches[-1] if self.batches else None
        if (open_batch is None or len(open_batch) >= self.max_objects or
                self._size + copy.entry.size > self.max_bytes or self._payload + payload > self.max_payload):
            open_batch = []
            self.batches.append(open_batch)
            self._size = self._payload = 0
        open_batch.append(entry)
        self._size += copy.entry.size
        self._payload += payload
        self.copies += 1
        self.bytes += copy.entry.size
