"""S3 bucket sync: a small staging -> production sync with new, changed, unchanged and orphaned objects, then
a second run that finds nothing to do. Also the seeding helpers tests and the bench use."""
from __future__ import annotations

from typing import Any, Iterable

from moto.s3.models import s3_backends

from ..resources import ACCOUNT
from . import Play, scenario

SOURCE, DESTINATION = "opsflows-staging", "opsflows-production"


def make_bucket(cloud: Any, name: str, region: str = "us-west-2") -> None:
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    cloud.client("s3", region).create_bucket(**params)


def seed(bucket: str, objects: dict[str, bytes] | Iterable[tuple[str, bytes]]) -> None:
    """Put many objects straight into moto's S3 (setup, not workload: ~100x faster than PutObject calls)."""
    backend = s3_backends[ACCOUNT]["aws"]
    for key, body in (objects.items() if isinstance(objects, dict) else objects):
        backend.put_object(bucket, key, body)


def put_inventory(cloud: Any, bucket: str, source: str, fmt: str = "CSV", *, files: int = 2,
                  taken: int = 1_700_000_000_000, leave_out: Iterable[str] = ()) -> str:
    """An S3 Inventory report of `source` (current versions, Key/Size/ETag/IsLatest) as S3 writes it: data files
    (CSV.gz with URL-encoded keys, or Parquet) and a manifest.json in `bucket`; returns the manifest's s3:// URI.
    `leave_out`: keys the report does not list (written after it was taken)."""
    import gzip
    import hashlib
    import io
    import json
    from urllib.parse import quote_plus

    skip = set(leave_out)
    rows = [o for page in cloud.client("s3").get_paginator("list_objects_v2").paginate(Bucket=source)
            for o in page.get("Contents", []) if o["Key"] not in skip]
    rows = rows[::-1]                                   # S3 promises no order inside a report
    prefix = f"inventory/{source}/all/2026-01-01T01-00Z"
    entries = []
    for n in range(files):
        part = rows[n::files]
        if fmt == "CSV":
            text = "".join(f'"{source}","{quote_plus(o["Key"])}","{o["Size"]}","{o["ETag"].strip(chr(34))}","true"\n'
                           for o in part)
            body, key = gzip.compress(text.encode()), f"inventory/{source}/all/data/{n:04d}.csv.gz"
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq
            table = pa.table({"bucket": [source] * len(part), "key": [o["Key"] for o in part],
                              "size": pa.array([o["Size"] for o in part], pa.int64()),
                              "e_tag": [o["ETag"].strip('"') for o in part], "is_latest": [True] * len(part)})
            out = io.BytesIO()
            pq.write_table(table, out, compression="snappy")
            body, key = out.getvalue(), f"inventory/{source}/all/data/{n:04d}.parquet"
        cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
        entries.append({"key": key, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()})
    schema = ("Bucket, Key, Size, ETag, IsLatest" if fmt == "CSV" else
              "message s3.inventory { required binary bucket (STRING); required binary key (STRING); "
              "optional int64 size; optional binary e_tag (STRING); optional boolean is_latest; }")
    manifest = {"sourceBucket": source, "destinationBucket": f"arn:aws:s3:::{bucket}", "version": "2016-11-30",
                "creationTimestamp": str(taken), "fileFormat": fmt, "fileSchema": schema, "files": entries}
    cloud.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/manifest.json", Body=json.dumps(manifest).encode())
    return f"s3://{bucket}/{prefix}/manifest.json"


def keys(cloud: Any, bucket: str, region: str = "us-west-2") -> list[str]:
    pages = cloud.client("s3", region).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def etags(cloud: Any, bucket: str, region: str = "us-west-2") -> dict[str, str]:
    pages = cloud.client("s3", region).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def body(cloud: Any, bucket: str, key: str) -> bytes:
    return cloud.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


@scenario("bucket-sync", config={"primary": {"opsflows:bucketSync": {"allowedBuckets": [SOURCE, DESTINATION]}}})
def bucket_sync(play: Play) -> None:
    """Sync staging -> production: copy new and changed pages, keep the unchanged one, delete orphans; rerun."""
    cloud = play.cloud
    machine = play.output("primary", "bucketSyncStateMachineArn")
    make_bucket(cloud, SOURCE)
    make_bucket(cloud, DESTINATION)
    s3 = cloud.client("s3")
    s3.put_object(Bucket=SOURCE, Key="index.html", Body=b"<h1>new</h1>", ContentType="text/html",
                  Metadata={"build": "42"})
    s3.put_object(Bucket=SOURCE, Key="posts/hello world.html", Body=b"hello")
    s3.put_object(Bucket=SOURCE, Key="style.css", Body=b"body{}", ContentType="text/css")
    s3.put_object(Bucket=DESTINATION, Key="index.html", Body=b"<h1>old</h1>")          # changed
    s3.put_object(Bucket=DESTINATION, Key="style.css", Body=b"body{}", ContentType="text/css")   # unchanged
    s3.put_object(Bucket=DESTINATION, Key="drafts/old.html", Body=b"gone")             # orphans
    s3.put_object(Bucket=DESTINATION, Key="posts/removed.html", Body=b"gone")
    unchanged_before = s3.head_object(Bucket=DESTINATION, Key="style.css")["LastModified"]
    source_before, destination_before = etags(cloud, SOURCE), etags(cloud, DESTINATION)
    orphans = ["drafts/old.html", "posts/removed.html"]

    first = cloud.execution(_run(cloud, machine, {"source": SOURCE, "destination": DESTINATION}))
    out = first["output"] or {}
    after = etags(cloud, DESTINATION)
    play.invariant("the source is never written", etags(cloud, SOURCE) == source_before, etags(cloud, SOURCE))
    not_copied = [k for k, v in source_before.items() if after.get(k) != v]
    play.invariant("no orphan is deleted unless every copy succeeded",
                   not not_copied or all(o in after for o in orphans), {"not copied": not_copied, "left": after})
    gone = set(destination_before) - set(after)
    play.invariant("only orphans are ever deleted from the destination", gone <= set(orphans), sorted(gone))
    play.invariant("a failed run published exactly one alert, a succeeded one none",
                   len([a for a in cloud.alerts() if first["arn"] in a["message"]]) == (first["status"] == "FAILED"),
                   cloud.alerts())
    play.check("the sync SUCCEEDED", first["status"] == "SUCCEEDED", f"{first['error']}: {first['cause']}")
    play.check("copied 2 (new + changed), skipped 1 unchanged, deleted 2 orphans",
               (out.get("copied"), out.get("skippedUnchanged"), out.get("deleted")) == (2, 1, 2), out)
    play.check("production now equals staging", keys(cloud, DESTINATION) == keys(cloud, SOURCE),
               keys(cloud, DESTINATION))
    head = s3.head_object(Bucket=DESTINATION, Key="index.html")
    play.check("content, content type and metadata were copied",
               body(cloud, DESTINATION, "index.html") == b"<h1>new</h1>" and head["ContentType"] == "text/html"
               and head["Metadata"] == {"build": "42"}, head)
    play.check("the unchanged object was not rewritten",
               s3.head_object(Bucket=DESTINATION, Key="style.css")["LastModified"] == unchanged_before)
    play.check("staging is untouched", keys(cloud, SOURCE) == ["index.html", "posts/hello world.html", "style.css"])
    play.state(f"s3://{DESTINATION}: {', '.join(keys(cloud, DESTINATION))}")

    calls_before = dict(cloud.metrics.api_calls)
    second = cloud.execution(_run(cloud, machine, {"source": SOURCE, "destination": DESTINATION}))
    rerun = {k: v - calls_before.get(k, 0) for k, v in cloud.metrics.api_calls.items()
             if k.startswith("s3.") and v != calls_before.get(k, 0)}
    play.check("a second run copies and deletes nothing",
               second["status"] == "SUCCEEDED" and (second["output"] or {}).get("copied") == 0
               and (second["output"] or {}).get("deleted") == 0, second["output"])
    play.check("the second run costs one listing per bucket (+1 HeadBucket each)",
               rerun == {"s3.ListObjectsV2": 2, "s3.HeadBucket": 2}, rerun)
    play.check("no alert was published", cloud.alerts() == [], cloud.alerts())


def _run(cloud: Any, machine: str, execution_input: dict) -> str:
    arn = cloud.start(machine, execution_input)
    cloud.run_until_idle()
    return arn
