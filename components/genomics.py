"""Genomics secondary analysis at cohort scale: AWS Batch jobs per sample, orchestrated by Step Functions.

    Plan (Lambda: stream the input or samplesheet, validate every sample, plan its jobs, skip the done ones on
          resume; write the plan to S3; nothing is submitted if any sample is wrong)
      -> Samples (Distributed Map over the plan: one child execution per sample, maxConcurrentSamples at once)
           Isaac (align) -> Analyse (Parallel): [Strelka (variants) -> SnpEff (annotate)] and [SamtoolsStats (QC)]
           -> Mark done (the sample's done marker, for resume)
      -> Report (Lambda: report.json/.csv under resultsS3Path) -> SUCCEEDED, or one alert and FAILED

Why this shape, for 100,000 samples in one execution:
- No payload grows with the cohort. The samples travel in S3: the plan is a JSON array in the state bucket the
  Map's ItemReader reads, the children's results go back to S3 through its ResultWriter, and the parent's state
  holds a few keys and counts. A child's input is one sample's plan (~2.5 KB; no state passes 4 KB).
- No history grows with the cohort. The parent records 24-30 events whatever N; each child, 43 (its own
  execution, its own history): bench/genomics_cohort.py. Each job is a `batch:submitJob.sync` task: transitions per sample are fixed however
  long the jobs run (no polling Lambdas, no Wait loops). Two Lambda invocations per execution, none per sample.
- Failure isolation. A child never fails for its sample: a failed (or cancelled, or refused) job is caught and
  ends only that sample's downstream jobs (Strelka failing stops SnpEff; SamtoolsStats, not downstream, runs
  on); the child ends with the sample's verdict. Every sample runs to completion; then Report decides, once:
  any failed sample (beyond toleratedFailedSamplesPercent) makes one alert listing them, and FAILED.
  ToleratedFailurePercentage is 100 so that even a child execution that breaks stops no other sample.
- Every job carries its sample, the (parent) execution and the tool as tags, propagated to its ECS task.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .alerts import AlertTopic
from .asl import NOTIFY_FAILURE, S3_TRANSIENT, catch_all, definition, invoke
from .batch import BatchLayer, BatchLayerArgs
from .function import Function, FunctionArgs
from .iam import allow, policy_document
from .settings import GenomicsSettings
from .storage import state_bucket
from .workflow import Workflow, WorkflowArgs, child_execution_statements

WORKFLOW = "genomics"
SUBMIT_JOB_SYNC = "arn:aws:states:::batch:submitJob.sync"
PUT_OBJECT = "arn:aws:states:::aws-sdk:s3:putObject"
# Tags every job carries (and propagates to its ECS task) so the bill can be read per sample and per run.
SAMPLE_TAG, EXECUTION_TAG, TOOL_TAG = "opsflows:sample", "opsflows:execution", "opsflows:tool"
# Batch's server errors and throttling on SubmitJob (TooManyRequestsException has no modelled exception class,
# so Step Functions may report it as Batch.AWSBatchException), retried with backoff; a job's own failure never is.
BATCH_TRANSIENT = {"ErrorEquals": ["Batch.TooManyRequestsException", "Batch.ServerException",
                                   "Batch.AWSBatchException"],
                   "IntervalSeconds": 5, "BackoffRate": 2.0, "MaxAttempts": 6, "JitterStrategy": "FULL"}
# S3 through the aws-sdk integration: every S3 error is S3.S3Exception (throttling and 5xx among them).
MARKER_RETRY = {"ErrorEquals": ["S3.S3Exception", "S3.SdkClientException"], "IntervalSeconds": 2,
                "BackoffRate": 2.0, "MaxAttempts": 4, "JitterStrategy": "FULL"}
# Step Functions manages this rule itself to learn when .sync Batch jobs finish.
BATCH_EVENTS_RULE = "StepFunctionsGetEventsForBatchJobsRule"
MARKER = "doneMarker"          # the failure's "tool" when the done marker could not be written
DONE_FOLDER = "_opsflows/done"  # functions/genomics/jobs.py: <resultsS3Path>/_opsflows/done/<sample>/<fingerprint>.json


@dataclass(frozen=True)
class Step:
    state: str        # the state's name
    tool: str         # the tool's key in the input and the plan


ISAAC, STRELKA, SNPEFF, SAMTOOLS = (Step("Isaac", "isaac"), Step("Strelka", "strelka"), Step("SnpEff", "snpEff"),
                                    Step("SamtoolsStats", "samtoolsStats"))


def job(step: Step, *, next: str) -> dict:
    """A `.sync` Batch job from the sample's plan, tagged, its result kept small. Any error (the job FAILED or was
    cancelled: States.TaskFailed with the job's description as cause; Batch refused the submission) goes to
    `<state> error`, which ends this branch of the sample and nothing else (no alert: the sample's verdict)."""
    planned = f"$.sample.jobs.{step.tool}"
    return {
        "Type": "Task",
        "Resource": SUBMIT_JOB_SYNC,
        "Parameters": {
            "JobName.$": f"{planned}.name",
            "JobQueue.$": f"{planned}.queue",
            "JobDefinition.$": f"{planned}.definition",
            "ContainerOverrides": {"Command.$": f"{planned}.command"},
            "Tags": {f"{SAMPLE_TAG}.$": "$.sample.sampleId", f"{EXECUTION_TAG}.$": "$.execution", TOOL_TAG: step.tool},
            "PropagateTags": True,
        },
        "ResultSelector": {"jobId.$": "$.JobId", "status.$": "$.Status", "startedAt.$": "$.StartedAt",
                           "stoppedAt.$": "$.StoppedAt"},
        "ResultPath": f"$.done.{step.tool}",
        "Retry": [BATCH_TRANSIENT],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": f"{step.state} error"}],
        "Next": next,
    }


# The sample's jobs, from both Analyse branches (each branch's "jobs" names what it ran; Isaac is in the second's).
JOBS = "States.JsonMerge($.analysis.variants.jobs, $.analysis.qc.jobs, false)"


def caught(tool: str) -> dict:
    return {"tool": tool, "error.$": "$.failure.Error", "cause.$": "$.failure.Cause"}


def ended(jobs: dict, failed: dict | None) -> dict:
    """The last state of an Analyse branch: the jobs it ran, and what failed (null: nothing)."""
    return {"Type": "Pass", "Parameters": {"jobs": jobs, "failed": failed}, "End": True}


def verdict(status: str, jobs: str | dict, failed: str | dict | None) -> dict:
    """The sample's verdict, the child execution's output (what the Map Run's ResultWriter records)."""
    parameters = {"sampleId.$": "$.sample.sampleId", "status": status}
    parameters.update({"jobs.$": jobs} if isinstance(jobs, str) else {"jobs": jobs})
    parameters.update({"failed.$": failed} if isinstance(failed, str) else {"failed": failed})
    return {"Type": "Pass", "Parameters": parameters, "End": True}


def sample_pipeline() -> dict:
    """One sample, in its own child execution: Isaac, then Strelka -> SnpEff alongside SamtoolsStats, then its
    done marker. Input: {"sample": its plan, "execution": the parent's name}. Always ends SUCCEEDED with the
    sample's verdict (the Map Run's results); a failed job ends only its own downstream jobs."""
    return {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": ISAAC.state,
        "States": {
            ISAAC.state: job(ISAAC, next="Analyse"),
            "Isaac error": verdict("FAILED", {}, caught(ISAAC.tool)),
            "Analyse": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": STRELKA.state, "States": {
                        STRELKA.state: job(STRELKA, next=SNPEFF.state),
                        "Strelka error": ended({}, caught(STRELKA.tool)),
                        SNPEFF.state: job(SNPEFF, next="Variants done"),
                        "SnpEff error": ended({"strelka.$": "$.done.strelka"}, caught(SNPEFF.tool)),
                        "Variants done": ended({"strelka.$": "$.done.strelka", "snpEff.$": "$.done.snpEff"}, None)}},
                    {"StartAt": SAMTOOLS.state, "States": {
                        SAMTOOLS.state: job(SAMTOOLS, next="QC done"),
                        "SamtoolsStats error": ended({"isaac.$": "$.done.isaac"}, caught(SAMTOOLS.tool)),
                        "QC done": ended({"isaac.$": "$.done.isaac", "samtoolsStats.$": "$.done.samtoolsStats"},
                                         None)}},
                ],
                "ResultSelector": {"variants.$": "$[0]", "qc.$": "$[1]"},
                "ResultPath": "$.analysis",
                "Next": "Sample failed?",
            },
            "Sample failed?": {"Type": "Choice", "Default": "Mark done", "Choices": [{"Or": [
                {"Variable": "$.analysis.variants.failed", "IsNull": False},
                {"Variable": "$.analysis.qc.failed", "IsNull": False}], "Next": "Sample failed"}]},
            "Sample failed": verdict("FAILED", JOBS, "States.Array($.analysis.variants.failed, $.analysis.qc.failed)"),
            "Mark done": {
                "Type": "Task", "Resource": PUT_OBJECT,
                "Comment": "All four jobs SUCCEEDED with this plan: resume may skip the sample from now on",
                "Parameters": {"Bucket.$": "$.sample.done.bucket", "Key.$": "$.sample.done.key",
                               "Body.$": f"States.JsonToString({JOBS})", "ContentType": "application/json"},
                "ResultPath": None,
                "Retry": [MARKER_RETRY],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Marker error"}],
                "Next": "Sample succeeded",
            },
            "Marker error": verdict("FAILED", JOBS, caught(MARKER)),
            "Sample succeeded": verdict("SUCCEEDED", JOBS, None),
        },
    }


def plan_state(plan_arn: pulumi.Input[str]) -> dict:
    state = invoke("Plan", plan_arn, next="Anything to run?", retry=[S3_TRANSIENT],
                   parameters={"input.$": "$", "execution.$": "$$.Execution.Name"},
                   comment="Validate every sample, plan its jobs, write the plan to S3 (nothing submitted yet)")
    # Its input is the execution's, which need not be an object: an error cannot be added to it at $.failure.
    state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "Plan failed"}]
    return state


def genomics_flow(*, plan_arn: pulumi.Input[str], report_arn: pulumi.Input[str], state_bucket_name: pulumi.Input[str],
                  max_concurrency: int, alerts_topic_arn: pulumi.Input[str]) -> dict:
    return definition(
        comment="Genomics per sample on AWS Batch, any cohort size: Isaac -> [Strelka -> snpEff] + samtools stats.",
        start_at="Plan", workflow=WORKFLOW, alerts_topic_arn=alerts_topic_arn, states={
            "Plan": plan_state(plan_arn),
            # The execution input may be anything (a list, a string): the error replaces it, then the alert.
            "Plan failed": {"Type": "Pass", "Parameters": {"failedState": "Plan", "failure.$": "$"},
                            "Next": NOTIFY_FAILURE},
            "Anything to run?": {"Type": "Choice", "Default": "Report", "Choices": [
                {"Variable": "$.counts.toRun", "NumericGreaterThan": 0, "Next": "Samples"}]},
            "Samples": {
                "Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                               "Parameters": {"Bucket.$": "$.plan.bucket", "Key.$": "$.plan.key"}},
                "ItemSelector": {"sample.$": "$$.Map.Item.Value", "execution.$": "$$.Execution.Name"},
                "ItemProcessor": sample_pipeline(),
                "MaxConcurrency": max_concurrency,
                # A child that breaks (not a sample's failure: those end SUCCEEDED with their verdict) must not
                # stop the others either; Report names it.
                "ToleratedFailurePercentage": 100,
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                                 "Parameters": {"Bucket": state_bucket_name, "Prefix.$": "$.run.mapResults"}},
                "ResultPath": "$.results",
                "Catch": catch_all("Samples"),
                "Next": "Report",
            },
            "Report": invoke("Report", report_arn, next="Cohort passed?", retry=[S3_TRANSIENT], result_path="$.verdict",
                             parameters={"state.$": "$", "execution.$": "$$.Execution.Id"},
                             comment="report.json and .csv under resultsS3Path; the counts; the verdict"),
            "Cohort passed?": {"Type": "Choice", "Default": "Cohort failed", "Choices": [
                {"Variable": "$.verdict.passed", "BooleanEquals": True, "Next": "Done"}]},
            "Cohort failed": {"Type": "Pass", "Next": NOTIFY_FAILURE, "Parameters": {
                "failedState": "Samples", "failure.$": "$.verdict.failure"}},
            "Done": {"Type": "Succeed", "OutputPath": "$.verdict.output"},
        })


@dataclass(frozen=True)
class GenomicsPipelineArgs:
    settings: GenomicsSettings
    alerts: AlertTopic
    region: str | None = None            # None = the stack's region
    log_retention_days: int = 30


class GenomicsPipeline(pulumi.ComponentResource):
    """The Batch layer (compute, queues, job definitions) and the workflow that runs samples through it."""

    def __init__(self, name: str, args: GenomicsPipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:genomics:GenomicsPipeline", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        s = args.settings
        batch = BatchLayer(f"{name}-batch", BatchLayerArgs(settings=s, region=args.region), inside)

        state = state_bucket(f"{name}-state", inside)
        runs = state.arn.apply(lambda a: f"{a}/runs/*")
        results = f"arn:aws:s3:::{s.results_bucket}"
        readable = sorted({*s.input_buckets, s.results_bucket})
        common = dict(region=args.region, log_retention_days=args.log_retention_days, timeout=900, memory=1769)

        plan = Function(f"{name}-plan", FunctionArgs(
            package="genomics", handler="plan.handler",
            description="Validate a genomics input or samplesheet, plan each sample's Batch jobs, write the plan",
            environment={
                "RESULTS_BUCKET": s.results_bucket,
                "INPUT_BUCKETS": ",".join(s.input_buckets),
                "JOB_DEFINITIONS": pulumi.Output.json_dumps({k: d.arn for k, d in batch.definitions.items()}),
                "JOB_QUEUES": pulumi.Output.json_dumps({k: q.arn for k, q in batch.queues.items()}),
                "STATE_BUCKET": state.bucket,
            },
            statements=[
                # A samplesheet may be in any bucket the jobs read.
                allow("s3:GetObject", [f"arn:aws:s3:::{b}/*" for b in readable], sid="ReadSamplesheets"),
                # resume: list the done markers (only those) under the results paths.
                allow("s3:ListBucket", results, sid="ListDoneMarkers",
                      condition={"StringLike": {"s3:prefix": [f"*{DONE_FOLDER}/*"]}}),
                allow(["s3:PutObject", "s3:AbortMultipartUpload"], runs, sid="WritePlans"),
            ], **common), inside)
        report = Function(f"{name}-report", FunctionArgs(
            package="genomics", handler="report.handler",
            description="Write a genomics cohort's report under resultsS3Path and judge it",
            environment={"TOLERATED_FAILED_PERCENT": f"{s.tolerated_failed_samples_percent:g}"},
            statements=[
                allow("s3:GetObject", runs, sid="ReadPlansAndMapResults"),
                allow(["s3:PutObject", "s3:AbortMultipartUpload"], [f"{results}/*report.json", f"{results}/*report.csv"],
                      sid="WriteReports"),
            ], **common), inside)

        region = args.region or aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id
        flow = Workflow(f"{name}-flow", WorkflowArgs(
            definition=pulumi.Output.json_dumps(genomics_flow(
                plan_arn=plan.arn, report_arn=report.arn, state_bucket_name=state.bucket,
                max_concurrency=s.max_concurrent_samples, alerts_topic_arn=args.alerts.arn)),
            alerts=args.alerts, invokes=[plan, report], region=args.region, log_retention_days=args.log_retention_days,
            description="Genomics cohorts on AWS Batch",
            statements=[
                *submit_statements(batch, region=region, account=account),
                # The Map's ItemReader reads the plan; its ResultWriter writes the children's results.
                allow(["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                      runs, sid="MapReadsPlansWritesResults"),
                # A child execution writes its sample's done marker, and nothing else in the results bucket.
                allow("s3:PutObject", f"{results}/*{DONE_FOLDER}/*", sid="WriteDoneMarkers"),
            ]), inside)
        # Distributed Map children are executions of this state machine: a second policy, once it has a name.
        aws.iam.RolePolicy(f"{name}-flow-children", role=flow.role.id, policy=policy_document(
            child_execution_statements(flow, region=region, account=account)), opts=inside)

        self.batch = batch
        self.state_bucket = state.bucket
        self.state_machine_arn = flow.arn
        self.register_outputs({"stateMachineArn": flow.arn, "stateBucket": state.bucket})


def submit_statements(batch: BatchLayer, *, region: pulumi.Input[str], account: pulumi.Input[str]) -> list[dict]:
    """Submit jobs only to this pipeline's queues and job definitions, and what `.sync` needs to follow them."""
    jobs = pulumi.Output.concat("arn:aws:batch:", region, ":", account, ":job/*")
    definitions = [arn for d in batch.definitions.values()                     # any revision of ours
                   for arn in (d.arn_prefix, d.arn_prefix.apply(lambda a: f"{a}:*"))]
    return [
        # SubmitJob authorises the queue, the job definition and the new job (whose id is not known before).
        allow("batch:SubmitJob", [*[q.arn for q in batch.queues.values()], *definitions, jobs], sid="SubmitOwnJobs"),
        # Tags given to SubmitJob are authorised as TagResource on the new job: only the pipeline's tag keys.
        allow("batch:TagResource", jobs, sid="TagOwnJobs", condition={
            "ForAllValues:StringEquals": {"aws:TagKeys": [SAMPLE_TAG, EXECUTION_TAG, TOOL_TAG]}}),
        # Step Functions terminates a running job when its execution is stopped or its branch fails.
        allow("batch:TerminateJob", jobs, sid="StopOwnJobs"),
        # DescribeJobs supports no resource-level permissions, so Resource "*" is the only valid form.
        allow("batch:DescribeJobs", "*", sid="DescribeJobsOnlySupportsStar"),
        allow(["events:PutTargets", "events:PutRule", "events:DescribeRule"],
              pulumi.Output.concat("arn:aws:events:", region, ":", account, ":rule/", BATCH_EVENTS_RULE),
              sid="SyncJobEvents"),
    ]
