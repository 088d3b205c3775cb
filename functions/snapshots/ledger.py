"""The DR copy ledger, a DynamoDB table in the primary region:

- one entry per source snapshot (`pk = snapshot#<id>`): where its DR copy stands (waiting, starting, copying,
  copied, retrying, failed, expired, skipped), the execution waiting for it and that execution's task token, the
  copy's id, how many copies AWS failed;
- the queue (`pk = queue#<DR region>`, in `queue_order`): one marker per snapshot waiting for a copy slot,
  carrying what starting its copy needs;
- the lock the deadline report holds while it takes every waiting snapshot out of the queue.

Every change is conditional on what was read, so concurrent executions never start one copy twice.
"""
from __future__ import annotations

import time
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterator

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from common.aws import SDK_CONFIG, home_region
from common.errors import error_code

WAITING, STARTING, COPYING, COPIED = "waiting", "starting", "copying", "copied"
RETRYING, FAILED, EXPIRED, SKIPPED = "retrying", "failed", "expired", "skipped"
KEEP_DAYS = 30            # a settled entry (copied, skipped) is kept this long: duplicate events find it
COPY = "copy"             # the entry's sort key


def queue_order(start_time: str, size_gib: int, snapshot_id: str) -> str:
    """The queue's sort key: snapshots taken in an earlier hour first (no snapshot waits behind later bursts);
    within an hour (a burst), the largest first. A copy lasts about as long as the data it moves, and a burst ends
    when its last copy does: starting the longest ones first keeps that near sum(durations) / slots."""
    size = max(0, min(int(size_gib or 0), 99_999))
    return f"{start_time[:13]}#{99_999 - size:05d}#{start_time}#{snapshot_id}"


class Conflict(Exception):
    """Someone else changed the item between our read and our write."""


@lru_cache(maxsize=None)
def _table(name: str, region: str) -> Any:
    return boto3.resource("dynamodb", region_name=region, config=SDK_CONFIG).Table(name)


def plain(value: Any) -> Any:
    """DynamoDB numbers (Decimal) as int/float, recursively, for JSON outputs."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Ledger:
    def __init__(self, table_name: str, dr_region: str):
        self.name, self.dr_region = table_name, dr_region
        self.table = _table(table_name, home_region())
        self.queue = f"queue#{dr_region}"

    # -- reading ---------------------------------------------------------------------------------------
    def entry(self, snapshot_id: str) -> dict | None:
        found = self.table.get_item(Key=_key(snapshot_id), ConsistentRead=True).get("Item")
        return plain(found) if found else None

    def waiting(self, limit: int | None = None) -> Iterator[dict]:
        """Markers of the snapshots waiting for a slot, oldest source first (strongly consistent, page by page)."""
        params: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(self.queue), "ConsistentRead": True}
        if limit:
            params["Limit"] = limit
        while True:
            page = self.table.query(**params)
            yield from (plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- the queue -------------------------------------------------------------------------------------
    def enqueue(self, seen: dict | None, *, source: dict, volume: str, tags: dict, start_time: str, size_gib: int,
                owner: str, token: str, attempts: int) -> dict:
        """Put the snapshot in the queue with `owner`'s task token, if its entry still is as `seen` (a snapshot
        queued again keeps its place)."""
        order = (seen or {}).get("order") or queue_order(start_time, size_gib, source["id"])
        marker = {"pk": self.queue, "sk": order, "snapshot": source["id"], "source": source, "volume": volume,
                  "tags": tags, "startTime": start_time, "owner": owner, "token": token}
        if seen is None:
            condition, values = "attribute_not_exists(#state)", {}
        else:
            condition, values = "#state = :seen AND #owner = :seenOwner", {":seen": seen["state"],
                                                                           ":seenOwner": seen.get("owner", "")}
        self._transact([
            {"Update": {"TableName": self.name, "Key": _key(source["id"]), "ConditionExpression": condition,
                        "UpdateExpression": "SET #state = :waiting, #owner = :owner, #token = :token, #order = :order, "
                                            "#source = :source, volume = :volume, tags = :tags, "
                                            "startTime = :startTime, attempts = :attempts REMOVE expiresAt",
                        "ExpressionAttributeNames": _names("state", "owner", "token", "order", "source"),
                        "ExpressionAttributeValues": {**values, ":waiting": WAITING, ":owner": owner, ":token": token,
                                                      ":order": order, ":source": source, ":volume": volume,
                                                      ":tags": tags, ":startTime": start_time,
                                                      ":attempts": attempts}}},
            {"Put": {"TableName": self.name, "Item": marker}},
        ])
        return marker

    def withdraw(self, marker: dict, seen: dict | None) -> None:
        """Take this execution's snapshot out of the queue again (it failed before its copy was answered): the
        entry goes back to what it was (`seen`), or away if it was new, so a retry or a rerun queues it afresh."""
        if not (seen or {}).get("state"):          # new: unqueued again (marks such as retainAfterCopy stay)
            entry = self._set(marker["snapshot"], {}, remove=("state", "owner", "token"),
                              when={"state": WAITING, "token": marker["token"]})
        else:
            entry = self._set(marker["snapshot"], {"state": seen["state"], "owner": seen.get("owner", "")},
                              remove=("token",), when={"state": WAITING, "token": marker["token"]})
        try:
            self._transact([
                {"Delete": {"TableName": self.name, "Key": {"pk": self.queue, "sk": marker["sk"]},
                            "ConditionExpression": "#token = :token", "ExpressionAttributeNames": _names("token"),
                            "ExpressionAttributeValues": {":token": marker["token"]}}}, entry])
        except Conflict:
            pass                # claimed meanwhile: its copy is being started, the execution will be answered

    def claim(self, marker: dict) -> bool:
        """Take a waiting snapshot out of the queue to start its copy (False: another execution took it)."""
        try:
            self._transact([
                {"Delete": {"TableName": self.name, "Key": {"pk": self.queue, "sk": marker["sk"]},
                            "ConditionExpression": "#token = :token", "ExpressionAttributeNames": _names("token"),
                            "ExpressionAttributeValues": {":token": marker["token"]}}},
                self._set(marker["snapshot"], {"state": STARTING}, when={"state": WAITING, "token": marker["token"]}),
            ])
            return True
        except Conflict:
            return False

    def unclaim(self, marker: dict) -> None:
        """Put a claimed snapshot back in its place in the queue (the region refused the copy for now)."""
        self._transact([
            {"Put": {"TableName": self.name, "Item": marker}},
            self._set(marker["snapshot"], {"state": WAITING}, when={"state": STARTING, "token": marker["token"]}),
        ])

    def expire(self, marker: dict, reporter: str) -> bool:
        """Take a waiting snapshot out of the queue because the copy deadline was reached (False: it started)."""
        try:
            self._transact([
                {"Delete": {"TableName": self.name, "Key": {"pk": self.queue, "sk": marker["sk"]},
                            "ConditionExpression": "#token = :token", "ExpressionAttributeNames": _names("token"),
                            "ExpressionAttributeValues": {":token": marker["token"]}}},
                self._set(marker["snapshot"], {"state": EXPIRED, "reportedBy": reporter}, remove=("token",),
                          when={"state": WAITING, "token": marker["token"]}),
            ])
            return True
        except Conflict:
            return False

    # -- an entry's state ------------------------------------------------------------------------------
    def update(self, snapshot_id: str, values: dict, *, when: dict | None = None, remove: tuple[str, ...] = (),
               settled: bool = False) -> None:
        """Set `values` on the entry (if its attributes equal `when`); `settled`: keep it KEEP_DAYS only."""
        if settled:
            values = {**values, "expiresAt": int(time.time()) + KEEP_DAYS * 86400}
        item = self._set(snapshot_id, values, when=when, remove=remove)["Update"]
        item.pop("TableName")
        try:
            self.table.update_item(**item)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict(f"{snapshot_id} changed meanwhile") from exc
            raise

    def retain_after_copy(self, snapshot_id: str) -> None:
        """Retention held this snapshot for its DR copy: run retention again when the copy completes (the entry
        may not exist yet: its CopyToDR has not run; queueing keeps the mark)."""
        self.table.update_item(Key=_key(snapshot_id), UpdateExpression="SET retainAfterCopy = :yes",
                               ExpressionAttributeValues={":yes": True})

    def note_reported(self, snapshot_id: str, reported: list[dict]) -> None:
        """Add to the list of snapshots the deadline report of `snapshot_id`'s execution named."""
        self.table.update_item(Key=_key(snapshot_id),
                               UpdateExpression="SET reported = list_append(if_not_exists(reported, :none), :more)",
                               ExpressionAttributeValues={":none": [], ":more": reported})

    # -- the deadline report's lock --------------------------------------------------------------------
    def lock(self, owner: str) -> bool:
        try:
            self.table.put_item(Item={"pk": f"lock#deadline#{self.dr_region}", "sk": "lock", "owner": owner},
                                ConditionExpression="attribute_not_exists(pk) OR #owner = :owner",
                                ExpressionAttributeNames=_names("owner"), ExpressionAttributeValues={":owner": owner})
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    def unlock(self, owner: str) -> None:
        try:
            self.table.delete_item(Key={"pk": f"lock#deadline#{self.dr_region}", "sk": "lock"},
                                   ConditionExpression="#owner = :owner", ExpressionAttributeNames=_names("owner"),
                                   ExpressionAttributeValues={":owner": owner})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    # -- plumbing --------------------------------------------------------------------------------------
    def _set(self, snapshot_id: str, values: dict, *, when: dict | None = None, remove: tuple[str, ...] = ()) -> dict:
        names = _names(*values, *remove, *(when or {}))
        expression = " ".join(part for part in (
            "SET " + ", ".join(f"#{k} = :{k}" for k in values) if values else "",
            "REMOVE " + ", ".join(f"#{k}" for k in remove) if remove else "") if part)
        update: dict[str, Any] = {"TableName": self.name, "Key": _key(snapshot_id), "UpdateExpression": expression,
                                  "ExpressionAttributeNames": names,
                                  "ExpressionAttributeValues": {f":{k}": v for k, v in values.items()}}
        if when:
            update["ConditionExpression"] = " AND ".join(f"#{k} = :was_{k}" for k in when)
            update["ExpressionAttributeValues"].update({f":was_{k}": v for k, v in when.items()})
        if not update["ExpressionAttributeValues"]:
            del update["ExpressionAttributeValues"]
        return {"Update": update}

    def _transact(self, items: list[dict]) -> None:
        try:
            self.table.meta.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
                raise Conflict(str(exc)) from exc
            raise


def _key(snapshot_id: str) -> dict:
    return {"pk": f"snapshot#{snapshot_id}", "sk": COPY}


def _names(*attributes: str) -> dict:
    return {f"#{a}": a for a in attributes}
