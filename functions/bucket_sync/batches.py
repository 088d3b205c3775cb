"""Copy work cut into batches: one batch is one child execution of the copy Map (a manifest in the state bucket),
so it must fit a Lambda invocation (15 minutes): at most `max_objects` objects and `max_bytes` bytes to copy."""
from __future__ import annotations

from dataclasses import dataclass, field

from .merge import Copy

BATCH_BYTES = 16 * 1024**3          # data one child copies server-side (keeps a batch well inside 15 minutes)


def item(copy: Copy) -> list:
    """A copy as the copier receives it: [relative key, size, source ETag, verify (1/0)]."""
    return [copy.entry.key, copy.entry.size, copy.entry.etag, 1 if copy.verify else 0]


@dataclass
class Batcher:
    max_objects: int
    max_bytes: int = BATCH_BYTES
    batches: list[list[list]] = field(default_factory=list)
    copies: int = 0
    bytes: int = 0
    _size: int = 0          # object bytes in the open batch

    def add(self, copy: Copy) -> None:
        open_batch = self.batches[-1] if self.batches else None
        if open_batch is None or len(open_batch) >= self.max_objects or self._size + copy.entry.size > self.max_bytes:
            open_batch = []
            self.batches.append(open_batch)
            self._size = 0
        open_batch.append(item(copy))
        self._size += copy.entry.size
        self.copies += 1
        self.bytes += copy.entry.size
