"""Where the source's entries come from: its listing, or (`sourceInventory`) the sorted index made from an S3
Inventory report. Both give pages of entries after a key, in S3's order."""
from __future__ import annotations

from typing import Iterator

from .merge import Entry
from .model import SyncRequest
from .s3 import listing


def source_pages(request: SyncRequest, start_after: str | None) -> Iterator[tuple[list[Entry], bool]]:
    if request.inventory is not None:
        from .inventory import index_pages
        return index_pages(request, start_after)
    return listing(request.source, start_after)
