"""S3 bucket sync under faults: a small source (new, changed, unchanged objects) synced into a destination with an
orphan; the end state is the destination equal to the source, the source untouched. A permanent fault must leave
the orphan in place (nothing deleted after a failed copy), and the rerun must copy only what the failed run did
not. (Refused buckets outside the allowlist or missing are tests/workflows/test_bucket_sync.py's.)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scenarios.bucket_sync import make_bucket, seed
from . import FAILED, SUCCEEDED, BadInput, Exercise, FaultCase

POOL = [f"opsflows-cat-{i:03d}" for i in range(120)]
MISSING = "opsflows-cat-never-made"
SOURCE_OBJECTS = {"a.txt": b"new", "b/c.txt": b"changed v2", "same.txt": b"same", "\u00fcnic\u00f8de/\u65e5.txt": b"u",
                  "zz-late.txt": b"last"}
DESTINATION_OBJECTS = {"b/c.txt": b"changed v1", "same.txt": b"same", "orphan.txt": b"gone at the source"}
BYSTANDER = {"keep.txt": b"k"}
KiB = 1024


@dataclass
class Run:
    source: str
    destination: str
    copies_needed: int = 0
    left_after_first: int | None = None     # objects the first (faulted) run had not copied


class BucketSync(Exercise):
    workflow = "bucket-sync"
    stacks = {"primary": {"opsflows:bucketSync": {"allowedBuckets": [*POOL, MISSING]}}}
    output = "bucketSyncStateMachineArn"
    faults = (
        FaultCase(("s3.ListObjectsV2=SlowDown:4",), SUCCEEDED, "S3 throttles listing beyond the SDK's 3 attempts"),
        FaultCase(("s3.CopyObject=SlowDown:rate=0.3",), SUCCEEDED, "S3 SlowDown on 30% of copy requests"),
        FaultCase(("s3.CopyObject=SlowDown:12",), SUCCEEDED, "SlowDown beyond the copy client's own retries"),
        FaultCase(("s3.HeadBucket=InternalError:4",), SUCCEEDED, "S3 5xx on validation (HEAD: bare 500)"),
        FaultCase(("lambda.Invoke=TooManyRequestsException:3",), SUCCEEDED, "Lambda throttles Step Functions"),
        FaultCase(("lambda.Invoke@bucket-sync-copy=Sandbox.Timedout:1",), SUCCEEDED,
                  "the copy function times out after copying (its batch runs again)"),
        FaultCase(("s3.CopyObject@zz-late=AccessDenied",), FAILED,
                  "AccessDenied halfway through on the destination: FAILED, the orphan kept, the rerun copies the rest"),
        FaultCase(("s3.CopyObject@zz-late=NoSuchKey",), FAILED,
                  "one object vanished from the source after the listing: FAILED, nothing deleted"),
        FaultCase(("s3.ListObjectsV2@opsflows-cat=NoSuchBucket:1",), FAILED, "a bucket deleted during the run"),
        FaultCase(("s3.ListObjectsV2@opsflows-cat=NoSuchBucket:1", "sns.Publish=InternalError:2"), FAILED,
                  "the failure alert meets SNS 500s: retried, still exactly one"),
    )
    bad_inputs = (
        BadInput("source missing", {"destination": POOL[0]}, "source must be a bucket name"),
        BadInput("destination an empty string", {"source": POOL[0], "destination": ""}, "destination must be"),
        BadInput("source not a string", {"source": 42, "destination": POOL[1]}, "source must be a bucket name"),
        BadInput("an ARN, not a bucket", {"source": "arn:aws:s3:::opsflows-cat-000", "destination": POOL[1]},
                 "not an ARN"),
        BadInput("same source and destination", {"source": POOL[0], "destination": POOL[0]}, "same location"),
        BadInput("prefix ../", {"source": POOL[0], "destination": POOL[1], "prefix": "../etc/"}, "'..' segment"),
        BadInput("prefix of 1,024 bytes", {"source": POOL[0], "destination": POOL[1], "prefix": "k" * 1024},
                 "leaves no room for keys"),
        BadInput("prefix with a lone surrogate", {"source": POOL[0], "destination": POOL[1], "prefix": "\ud800"},
                 "not valid UTF-8"),
        BadInput("oversized input (200 KiB source)", {"source": POOL[0] + "/" + "x" * (200 * KiB),
                                                      "destination": POOL[1]}, "characters long"),
        BadInput("input not an object", ["opsflows-cat-000"], "must be a JSON object"),
        BadInput("sourceInventory that does not exist",
                 {"source": POOL[0], "destination": POOL[1], "sourceInventory": f"s3://{POOL[0]}/inv/manifest.json"},
                 "does not exist"),
    )

    def __init__(self) -> None:
        self._names = iter(POOL[2:])

    def prepare(self, cloud: Any) -> Run:
        for bucket in (POOL[0], POOL[1]):              # the buckets the bad inputs name (never to be changed)
            if not _exists(cloud, bucket):
                make_bucket(cloud, bucket)
                seed(bucket, BYSTANDER)
        run = Run(next(self._names), next(self._names))
        for name in (run.source, run.destination):
            make_bucket(cloud, name)
        seed(run.source, SOURCE_OBJECTS)
        seed(run.destination, DESTINATION_OBJECTS)
        run.copies_needed = sum(1 for k, v in SOURCE_OBJECTS.items() if DESTINATION_OBJECTS.get(k) != v)
        return run

    def start(self, cloud: Any, run: Run) -> None:
        cloud.start(self.state_machine(cloud), {"source": run.source, "destination": run.destination})

    def expected(self, cloud: Any, run: Run) -> dict:
        return {"source": _etags(cloud, run.source), "destination": _etags(cloud, run.source),
                "bystanders": {b: {k: _md5(v) for k, v in BYSTANDER.items()} for b in (POOL[0], POOL[1])}}

    def observe(self, cloud: Any, run: Run) -> dict:
        return {"source": _etags(cloud, run.source), "destination": _etags(cloud, run.destination),
                "bystanders": {b: _etags(cloud, b) for b in (POOL[0], POOL[1])}}

    def violations(self, cloud: Any, run: Run) -> list[str]:
        found = []
        if _etags(cloud, run.source) != {k: _md5(v) for k, v in SOURCE_OBJECTS.items()}:
            found.append(f"the source {run.source} changed")
        destination = _etags(cloud, run.destination)
        missing = [k for k, v in SOURCE_OBJECTS.items() if destination.get(k) != _md5(v)]
        if run.left_after_first is None:            # checked first right after the faulted run
            run.left_after_first = len(missing)
        if "orphan.txt" not in destination and missing:
            found.append(f"the orphan was deleted although {len(missing)} object(s) were not copied ({missing[:3]})")
        return found

    def rerun_violations(self, cloud: Any, run: Run, calls: Any) -> list[str]:
        copies = calls.get("s3.CopyObject", 0)
        left = run.left_after_first or 0        # the rerun copies only what the failed run had not copied
        return [f"the rerun made {copies} CopyObject requests for {left} object(s) left to copy"] \
            if copies > left else []


def _exists(cloud: Any, bucket: str) -> bool:
    return bucket in {b["Name"] for b in cloud.client("s3").list_buckets()["Buckets"]}


def _etags(cloud: Any, bucket: str) -> dict[str, str]:
    pages = cloud.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["ETag"].strip('"') for page in pages for o in page.get("Contents", [])}


def _md5(body: bytes) -> str:
    import hashlib
    return hashlib.md5(body).hexdigest()
