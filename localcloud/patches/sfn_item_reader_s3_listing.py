"""Distributed Map ItemReader over s3:listObjectsV2: AWS reads every page of the listing and gives each object
as {"Key", "Etag", "LastModified" (epoch seconds), "Size", "StorageClass"}. moto reads the first page only
(1,000 objects), fails on an empty listing (no Contents), and passes boto3's datetimes on, which
describe_execution then cannot serialise. This patch pages through the whole listing and shapes the items as
AWS does."""
from __future__ import annotations

from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3 import (
    ResourceEvalS3)


def _item(obj: dict) -> dict:
    return {"Etag": obj["ETag"], "Key": obj["Key"], "LastModified": int(obj["LastModified"].timestamp()),
            "Size": obj["Size"], "StorageClass": obj.get("StorageClass", "STANDARD")}


def apply() -> None:
    @staticmethod
    def _handle_list_objects_v2(env, resource_runtime_part, state_credentials) -> None:
        s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part,
                                           state_credentials=state_credentials)
        parameters = env.stack.pop()
        items = []
        for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
            items.extend(_item(o) for o in page.get("Contents", []))
        env.stack.append(items)

    ResourceEvalS3._handle_list_objects_v2 = _handle_list_objects_v2
