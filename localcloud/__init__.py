"""The local cloud: the opsflows program deployed into moto, its workflows run for real, in-process.

`LocalCloud` is imported on first use (PEP 562), so `python -m localcloud drill` - which runs against real AWS
with only boto3 installed - never imports moto or Pulumi."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cloud import LocalCloud

__all__ = ["LocalCloud"]


def __getattr__(name: str) -> Any:
    if name == "LocalCloud":
        from .cloud import LocalCloud
        return LocalCloud
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
