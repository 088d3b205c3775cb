"""DynamoDB tables (keys, on-demand or provisioned billing, TTL, point-in-time recovery, encryption), created in
moto."""
from __future__ import annotations

from typing import Any

from . import Created, client, creates


@creates("aws:dynamodb/table:Table")
def table(c: Created) -> tuple[str, dict]:
    i = c.inputs
    name = c.physical_name(255)
    dynamodb = client("dynamodb", c.region)
    keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
    if i.get("rangeKey"):
        keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
    params: dict[str, Any] = dict(
        TableName=name, KeySchema=keys, BillingMode=i.get("billingMode", "PROVISIONED"),
        AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]} for a in i.get("attributes", [])])
    if params["BillingMode"] == "PROVISIONED":
        params["ProvisionedThroughput"] = {"ReadCapacityUnits": int(i.get("readCapacity", 1)),
                                           "WriteCapacityUnits": int(i.get("writeCapacity", 1))}
    sse = i.get("serverSideEncryption") or {}
    if sse.get("enabled"):
        params["SSESpecification"] = {"Enabled": True, "SSEType": "KMS",
                                      **({"KMSMasterKeyId": sse["kmsKeyArn"]} if sse.get("kmsKeyArn") else {})}
    described = dynamodb.create_table(**params)["TableDescription"]
    ttl = i.get("ttl") or {}
    if ttl.get("enabled"):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": ttl["attributeName"]})
    if (i.get("pointInTimeRecovery") or {}).get("enabled"):
        dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True})
    return name, {**i, "name": name, "arn": described["TableArn"]}
