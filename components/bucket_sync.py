"""S3 bucket sync: make a destination (bucket or bucket/prefix) equal to a source, at any size, for the fewest
S3 requests, in executions whose history stays small.

    Receive -> Validate -> Scan -> Next? --copy--> CopyBatches (Distributed Map) -> Continue? -> Scan ...
                                        --list--> ListRanges (Distributed Map) -> Continue? -> Scan ...
                                        --index-> IndexInventory (Distributed Map) -> Scan   (sourceInventory)
                                        --scan--> Continue? -> Scan ...   (or ContinueAsNew: a new execution)
                                        --delete-> DeleteOrphans (Distributed Map) -> Done
                                        --done--> Done

Why this shape (the seed HEADs every object on both sides and loops in one execution until 25,000 events):

- Requests at the lower bound. Both listings are sorted (UTF-8 binary order), so one merge of the two finds the
  objects to copy (missing, or size/ETag differ), the unchanged ones and the orphans with no per-object request:
  a Scan lists ceil(N/1000) pages per bucket, then there is one CopyObject per object to copy and one
  DeleteObjects per 1,000 orphans. A Scan stops between pages (a budget of `pagesPerScan` pages, 400 copy
  batches, or Lambda time) on a key boundary and the next resumes with StartAfter: the side that needed a page
  loses nothing, the other re-lists at most one page per Scan (<0.1% at the default budget). Validation costs one
  HeadBucket per bucket (existence, access, region) per run. The state bucket's manifests cost one PUT and
  one GET per copy batch (<= 1,000 objects) and per Scan with orphans, and one LIST per 1,000 orphan manifests.
- Listing in parallel, adaptively (functions/bucket_sync/scan.py, ranges.py, keyspace.py). The first pass lists
  from the first key as a single Scan always did; a bucket that ends within it costs exactly that. A bigger one is
  cut into key ranges that ListRanges children list at once (`listingParallelism` of them), both buckets over the
  same bounds, so every key is classified in exactly one range; what a pass fetched and did not classify is
  carried to the next (no page is read twice for stopping). Each round the ranges still going are cut again,
  only while the listing has paid for the cut (at most 1.05 x the lower bound + 10 requests), so a hot prefix is
  split too. The plan and each range's state live in the state bucket (a range carries up to a page of entries).
- `sourceInventory`: an S3 Inventory report replaces the source's listing: one IndexInventory child sorts each
  data file into an indexed run; ranges merge the index with the destination's listing (functions/bucket_sync/
  inventory.py says how objects written after the report are handled).
- Unchanged objects are never copied again, judged from the listings alone. An ETag is the MD5 of a single-part
  object, or MD5-of-part-MD5s-N for a multipart one, so a plain CopyObject of a multipart source would produce
  a different ETag and be re-copied on every run. The copier therefore copies every multipart source (and
  anything over `multipartThresholdBytes`) with UploadPartCopy in the source's own part layout (part size and
  count from one HEAD with PartNumber=1, which also gives the metadata a multipart upload must be given again):
  the ETag comes out identical. Where the layout cannot be reproduced (a single-part source over the threshold,
  uneven parts) the copy records the source ETag in x-amz-meta-opsflows-source-etag; the merge marks such pairs
  (same size, destination ETag multipart, different) "verify" and the copier HEADs just those before copying.
  Limitation: SSE-KMS ETags are not content hashes, so KMS-encrypted objects look changed on every run.
- Bounded history at any size. Lambdas do the real work (list pages + merge + write manifests; copy a batch;
  delete a manifest's orphans); Step Functions fans out. Copies and deletes run as Distributed Map child
  executions (own histories; MaxConcurrency = `maxConcurrency`, each child copies 8 objects at a time) that
  read their work from JSON manifests in the state bucket, so payloads stay small: the copy Map iterates the
  Scan's list of batch manifests (at most 400 a Scan), the delete Map lists the orphan manifests (S3 ItemReader).
  The parent records 15 events per Scan loop; after `scansPerExecution` loops it starts a new execution of itself
  (startExecution.sync:2) with the scan state, and that execution's output (or failure) becomes its own, so no
  execution approaches 25,000 events however large the buckets.
- Safety. Nothing is written before validation (allowed buckets, no overlap, both reachable). The source is only
  read; copies are conditional on the listed ETag. Deletes run only after every copy succeeded, only if the
  orphan count is within `maxDeletes`, only from manifests made for this destination, never inside the source.
  dryRun writes nothing at all. Any failure: one alert, then FAILED.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .alerts import AlertTopic
from .asl import S3_TRANSIENT, TRANSIENT, catch_all, definition, invoke
from .function import Function, FunctionArgs
from .iam import allow, policy_document
from .settings import BucketSyncSettings
from .storage import state_bucket
from .workflow import Workflow, WorkflowArgs, child_execution_statements

WORKFLOW = "bucket-sync"
# AWS SDK for pandas (the managed layer AWS publishes per region) brings pyarrow, which reads Parquet inventories.
PANDAS_LAYER = "arn:aws:lambda:{region}:336392948345:layer:AWSSDKPandas-Python312-Arm64:16"
# A child that ran out of Lambda time (a slow batch, a stalled listing) is run again: every child is idempotent
# (a copy is conditional on the listed ETag; a range pass starts from where its plan says).
TIMED_OUT = {"ErrorEquals": ["Sandbox.Timedout", "States.Timeout"], "IntervalSeconds": 5, "BackoffRate": 2.0,
             "MaxAttempts": 2}


@dataclass(frozen=True)
class BucketSyncArgs:
    settings: BucketSyncSettings
    region: str                     # the stack's region: functions, state machine, state bucket
    alerts: AlertTopic
    log_retention_days: int = 30


class BucketSync(pulumi.ComponentResource):
    """S3 bucket sync on demand: Validate -> Scan/CopyBatches loop -> DeleteOrphans (see the module docstring)."""

    def __init__(self, name: str, args: BucketSyncArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:bucket_sync:BucketSync", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        s = args.settings
        account = aws.get_caller_identity_output().account_id

        state = state_bucket(f"{name}-state", inside)
        manifests = state.arn.apply(lambda a: f"{a}/runs/*")
        buckets = [f"arn:aws:s3:::{b}" for b in s.allowed_buckets]
        objects = [f"{b}/*" for b in buckets]

        def only_allowed(actions: list[str], resources: list[str], sid: str) -> list[dict]:
            # No allowed buckets: the function may touch none (Validate refuses every input).
            return [allow(actions, resources, sid=sid)] if resources else []

        common = dict(log_retention_days=args.log_retention_days)
        validate = Function(f"{name}-validate", FunctionArgs(
            package="bucket_sync", handler="validate.handler", timeout=30,
            description="Validate a bucket sync request: allowed, not overlapping, both buckets reachable",
            environment={"ALLOWED_BUCKETS": pulumi.Output.json_dumps(list(s.allowed_buckets))},
            statements=[*only_allowed(["s3:ListBucket"], buckets, "HeadAllowedBuckets"),
                        # sourceInventory: its manifest.json, in an allowed bucket
                        *only_allowed(["s3:GetObject"], objects, "ReadInventoryManifest")], **common), inside)
        listing = dict(STATE_BUCKET=state.bucket, PAGES_PER_SCAN=str(s.pages_per_scan),
                       BATCH_OBJECTS=str(s.batch_objects), LISTING_PARALLELISM=str(s.listing_parallelism))
        lists = [*only_allowed(["s3:ListBucket"], buckets, "ListAllowedBuckets"),
                 # sourceInventory: an orphan candidate the inventory does not know is looked up at the source
                 *only_allowed(["s3:GetObject"], objects, "HeadSourceObjects"),
                 allow(["s3:PutObject", "s3:GetObject"], manifests, sid="RunManifests")]
        scan = Function(f"{name}-scan", FunctionArgs(
            package="bucket_sync", handler="scan.handler", timeout=900, memory=1769,
            description="Plan the listing (one range here, many through ListRanges), merge, write manifests",
            environment=listing, statements=lists, **common), inside)
        ranges = Function(f"{name}-ranges", FunctionArgs(
            package="bucket_sync", handler="ranges.handler", timeout=900, memory=1769,
            description="List one key range of both buckets, merge, write its manifests and where it stopped",
            environment=listing, statements=lists, **common), inside)
        index = Function(f"{name}-index", FunctionArgs(
            package="bucket_sync", handler="inventory.handler", timeout=900, memory=4096,
            description="Sort one S3 Inventory data file of the source into an indexed run (sourceInventory)",
            environment={"STATE_BUCKET": state.bucket},
            statements=[*only_allowed(["s3:GetObject"], objects, "ReadInventory"),
                        allow(["s3:PutObject", "s3:GetObject"], manifests, sid="RunManifests")],
            layers=[PANDAS_LAYER], **common), inside)
        copy = Function(f"{name}-copy", FunctionArgs(
            package="bucket_sync", handler="copy.handler", timeout=900, memory=512,
            description="Copy one batch of objects (CopyObject, or UploadPartCopy in the source's part layout)",
            environment={"STATE_BUCKET": state.bucket, "MULTIPART_THRESHOLD_BYTES": str(s.multipart_threshold_bytes),
                         "PART_SIZE_BYTES": str(s.part_size_bytes)},
            statements=[
                allow("s3:GetObject", manifests, sid="ReadManifests"),
                # Any allowed bucket may be a source (read) or a destination (write); the code never writes to
                # the source of a run and copies only what it listed (CopySourceIfMatch).
                *only_allowed(["s3:GetObject", "s3:GetObjectTagging"], objects, "ReadSources"),
                *only_allowed(["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"], objects,
                              "WriteDestinations"),
            ], **common), inside)
        delete = Function(f"{name}-delete", FunctionArgs(
            package="bucket_sync", handler="delete.handler", timeout=300,
            description="Delete one manifest's orphans from the destination, 1,000 keys per DeleteObjects",
            environment={"STATE_BUCKET": state.bucket},
            statements=[allow("s3:GetObject", manifests, sid="ReadManifests"),
                        *only_allowed(["s3:DeleteObject"], objects, "DeleteOrphans")], **common), inside)

        asl = sync_definition(validate=validate.arn, scan=scan.arn, ranges=ranges.arn, index=index.arn,
                              copy=copy.arn, delete=delete.arn, state_bucket=state.bucket, settings=s,
                              alerts_topic_arn=args.alerts.arn)
        flow = Workflow(f"{name}-flow", WorkflowArgs(
            definition=pulumi.Output.json_dumps(asl), alerts=args.alerts,
            invokes=[validate, scan, ranges, index, copy, delete],
            statements=[allow("s3:ListBucket", state.arn, sid="MapListsRunManifests")],
            log_retention_days=args.log_retention_days,
            description="S3 bucket sync: copy missing/changed objects, delete orphans"), inside)

        # Statements naming the state machine itself (Distributed Map children, continuing as a new execution)
        # can only be written once it exists, so they are a second policy on its role.
        aws.iam.RolePolicy(f"{name}-flow-self", role=flow.role.id, policy=policy_document([
            # Distributed Map children (<machine>/<map run>:<id>) and continuations (<machine>:<name>).
            *child_execution_statements(flow, region=args.region, account=account),
            allow(["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                  pulumi.Output.concat("arn:aws:events:", args.region, ":", account,
                                       ":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"),
                  sid="SyncIntegrationRule"),
        ]), opts=inside)

        self.state_machine_arn = flow.arn
        self.state_bucket = state.bucket
        self.register_outputs({"stateMachineArn": flow.arn, "stateBucket": state.bucket})


def distributed_map(state: str, *, items: dict, selector: dict, child: str, function_arn, max_concurrency: int,
                    next: str, result_path: str | None) -> dict:
    """A Distributed Map whose child executions each run one Lambda task; any failed child fails the Map.
    `items`: {"ItemsPath": ...} or {"ItemReader": ...}."""
    return {
        "Type": "Map",
        **items,
        "ItemSelector": selector,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": child,
            "States": {child: {"Type": "Task", "Resource": function_arn, "Retry": [S3_TRANSIENT, TIMED_OUT, TRANSIENT],
                               "End": True}},
        },
        "MaxConcurrency": max_concurrency,      # no ToleratedFailure*: AWS's default tolerates no failed child
        "ResultPath": result_path,
        "Catch": catch_all(state),
        "Next": next,
    }


def sync_definition(*, validate, scan, ranges, index, copy, delete, state_bucket, settings: BucketSyncSettings,
                    alerts_topic_arn) -> dict:
    states = {
        # Whatever the input is (an object, a list, a string), the state is an object from here on, so a failure
        # can be recorded next to it and alerted.
        "Receive": {"Type": "Pass", "Parameters": {"input.$": "$"}, "Next": "Validate"},
        "Validate": invoke("Validate", validate, next="Scan", retry=[S3_TRANSIENT, TIMED_OUT],
                           parameters={"input.$": "$.input", "execution.$": "$$.Execution.Name"}),
        "Scan": invoke("Scan", scan, next="Next?", retry=[S3_TRANSIENT, TIMED_OUT],
                       comment="Count the last copies, list and merge the next range, write manifests"),
        "Next?": {"Type": "Choice", "Default": "Done", "Choices": [
            {"Variable": "$.scan.phase", "StringEquals": "copy", "Next": "CopyBatches"},
            {"Variable": "$.scan.phase", "StringEquals": "list", "Next": "ListRanges"},
            {"Variable": "$.scan.phase", "StringEquals": "index", "Next": "IndexInventory"},
            {"Variable": "$.scan.phase", "StringEquals": "scan", "Next": "Continue?"},
            {"Variable": "$.scan.phase", "StringEquals": "delete", "Next": "DeleteOrphans"}]},
        "ListRanges": distributed_map(
            "ListRanges", child="ListRange", function_arn=ranges, max_concurrency=settings.listing_parallelism,
            next="Continue?", result_path=None,
            items={"ItemsPath": "$.scan.ranges"},
            selector={"request.$": "$.request", "plan.$": "$.scan.plan", "range.$": "$$.Map.Item.Value"}),
        "IndexInventory": distributed_map(
            "IndexInventory", child="IndexFile", function_arn=index, max_concurrency=settings.max_concurrency,
            next="Scan", result_path=None,
            # one small object per data file, listed (statelint knows no ReaderConfig, so no JSON reader)
            items={"ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {
                "Bucket": state_bucket, "Prefix.$": "States.Format('{}files/', $.request.inventory.index)"}}},
            selector={"request.$": "$.request", "file.$": "$$.Map.Item.Value.Key"}),
        "CopyBatches": distributed_map(
            "CopyBatches", child="Copy", function_arn=copy, max_concurrency=settings.max_concurrency,
            next="Continue?", result_path="$.copyResults",
            items={"ItemsPath": "$.scan.batches"},
            selector={"request.$": "$.request", "manifest.$": "$$.Map.Item.Value"}),
        "Continue?": {"Type": "Choice", "Default": "Scan", "Choices": [
            {"Variable": "$.scan.iterations", "NumericGreaterThanEquals": settings.scans_per_execution,
             "Next": "ContinueAsNew"}]},
        "ContinueAsNew": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Comment": "Hand the scan state to a new execution (bounded history); its output becomes ours",
            "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id", "Name.$": "$.scan.continueAs",
                           "Input": {"continuation": {
                "input.$": "$.input", "request.$": "$.request", "scan.$": "$.scan",
                "copyResults.$": "$.copyResults"}}},
            "ResultSelector": {"output.$": "$.Output"}, "ResultPath": "$.continued",
            "Retry": [TRANSIENT],
            # The continuation alerted for itself: end FAILED as it did, without a second alert.
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "ContinuationFailed"},
                      *catch_all("ContinueAsNew")],
            "Next": "Continued"},
        "Continued": {"Type": "Succeed", "OutputPath": "$.continued.output"},
        "ContinuationFailed": {"Type": "Pass", "Parameters": {"execution.$": "States.StringToJson($.failure.Cause)"},
                               "ResultPath": "$.failure", "Next": "FailedAsContinued"},
        "FailedAsContinued": {"Type": "Fail", "ErrorPath": "$.failure.execution.Error",
                              "CausePath": "$.failure.execution.Cause"},
        "DeleteOrphans": distributed_map(
            "DeleteOrphans", child="Delete", function_arn=delete, max_concurrency=settings.max_concurrency,
            next="Done", result_path=None,
            items={"ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {
                "Bucket": state_bucket, "Prefix.$": "States.Format('runs/{}/orphans/', $.scan.run)"}}},
            selector={"request.$": "$.request", "manifest.$": "$$.Map.Item.Value.Key"}),
        "Done": {"Type": "Succeed", "OutputPath": "$.scan.result"},
    }
    return definition(comment="Sync an S3 destination with a source: copy missing/changed objects, delete orphans.",
                      start_at="Receive", states=states, workflow=WORKFLOW, alerts_topic_arn=alerts_topic_arn)
