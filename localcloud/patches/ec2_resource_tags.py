"""An EC2 resource's own tags, read from its entry.

AWS: describing snapshots (or any EC2 resource) returns each one's tags, whatever the account holds.
moto: each resource finds its tags by running DescribeTags with a `resource-id` filter, which matches a regular
expression against every tag of every resource in the region, so describing N tagged resources costs N x (all
tags): a fleet of a thousand snapshots makes each DescribeSnapshots take seconds, and the local cloud's time is
spent there. Here a resource reads its own entry of the tag store (the same tags, in the same order).
"""
from __future__ import annotations

from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix


def apply() -> None:
    def get_tags(self) -> list[dict[str, str]]:
        if not self.id:
            return []
        own = self.ec2_backend.tags.get(self.id) or {}       # .get: never adds an entry to the defaultdict
        kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
        return [{"resource_id": self.id, "key": k, "value": v, "resource_type": kind} for k, v in list(own.items())]

    TaggedEC2Resource.get_tags = get_tags
