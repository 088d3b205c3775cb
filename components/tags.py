"""Stack-wide tags (`opsflows:tags`) on every resource that takes tags, as provider default tags would be."""
from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Mapping

import pulumi


@lru_cache(maxsize=None)
def _takes_tags(resource_class: type) -> bool:
    init = getattr(resource_class, "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters


def tag_everything(tags: Mapping[str, str]) -> None:
    """Merge `tags` into every taggable resource of the stack (a resource's own tags win)."""
    if not tags:
        return

    def add_tags(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not _takes_tags(type(args.resource)):
            return None
        return pulumi.ResourceTransformationResult(
            props={**args.props, "tags": {**tags, **(args.props.get("tags") or {})}}, opts=args.opts)

    pulumi.runtime.register_stack_transformation(add_tags)
