"""Genomics secondary analysis on AWS Batch, orchestrated by Step Functions with `.sync` job integrations.

    Plan (Lambda: validate every sample, build the seed's commands; nothing is submitted if any is wrong)
      -> Samples (Map, at most maxConcurrentSamples at once), per sample:
           Isaac (align) -> Analyse (Parallel): [Strelka (variants) -> SnpEff (annotate)] and [SamtoolsStats (QC)]
Each job is one `batch:submitJob.sync` task: Step Functions waits for the job itself, so state transitions per
sample are fixed however long the jobs run (no polling Lambdas, no Wait loops). A failed job fails its sample
with its tool, job id and status reason; the Map stops, one alert is published, the execution FAILS.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .alerts import AlertTopic
from .asl import catch_all, definition, invoke
from .batch import BatchLayer, BatchLayerArgs
from .function import Function, FunctionArgs
from .iam import allow
from .settings import GenomicsSettings
from .workflow import Workflow, WorkflowArgs

SUBMIT_JOB_SYNC = "arn:aws:states:::batch:submitJob.sync"
# Tags every job carries (and propagates to its ECS task) so the bill can be read per sample and per run.
SAMPLE_TAG, EXECUTION_TAG, TOOL_TAG = "opsflows:sample", "opsflows:execution", "opsflows:tool"
# Batch's server errors and throttling (TooManyRequestsException has no modelled exception class, so Step
# Functions reports it as Batch.AWSBatchException), retried with backoff; a job's own failure never is.
BATCH_TRANSIENT = {"ErrorEquals": ["Batch.TooManyRequestsException", "Batch.ServerException",
                                   "Batch.AWSBatchException"],
                   "IntervalSeconds": 5, "BackoffRate": 2.0, "MaxAttempts": 6, "JitterStrategy": "FULL"}
JOB_FAILED = "BatchJobFailed"
JOB_NOT_SUBMITTED = "BatchJobNotSubmitted"
# Step Functions manages this rule itself to learn when .sync Batch jobs finish.
BATCH_EVENTS_RULE = "StepFunctionsGetEventsForBatchJobsRule"


@dataclass(frozen=True)
class Step:
    state: str        # the state's name
    tool: str         # the tool's key in the input and the plan


ISAAC, STRELKA, SNPEFF, SAMTOOLS = (Step("Isaac", "isaac"), Step("Strelka", "strelka"), Step("SnpEff", "snpEff"),
                                    Step("SamtoolsStats", "samtoolsStats"))


def job(step: Step, *, next: str | None = None) -> dict:
    """A `.sync` Batch job from the sample's plan: tagged, its result kept small; failures become one named
    error naming the sample, the tool, the job id and Batch's status reason."""
    planned = f"$.jobs.{step.tool}"
    task = {
        "Type": "Task",
        "Resource": SUBMIT_JOB_SYNC,
        "Parameters": {
            "JobName.$": f"{planned}.name",
            "JobQueue.$": f"{planned}.queue",
            "JobDefinition.$": f"{planned}.definition",
            "ContainerOverrides": {"Command.$": f"{planned}.command"},
            "Tags": {f"{SAMPLE_TAG}.$": "$.sampleId", f"{EXECUTION_TAG}.$": "$$.Execution.Name", TOOL_TAG: step.tool},
            "PropagateTags": True,
        },
        "ResultSelector": {"jobId.$": "$.JobId", "status.$": "$.Status"},
        "ResultPath": f"$.done.{step.tool}",
        "Retry": [BATCH_TRANSIENT],
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": f"{step.state} job failed"},
                  {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": f"{step.state} not submitted"}],
    }
    task.update({"Next": next} if next else {"End": True})
    return task


def job_failure_states(step: Step) -> dict:
    """The job ended FAILED (Batch already retried Spot reclamations): its description is the error's cause."""
    return {
        f"{step.state} job failed": {"Type": "Pass", "Parameters": {"job.$": "States.StringToJson($.failure.Cause)"},
                                     "ResultPath": "$.failedJob", "Next": f"{step.state} failed"},
        f"{step.state} failed": {
            "Type": "Fail", "Error": JOB_FAILED,
            "CausePath": (f"States.Format('sample {{}}: {step.tool} job {{}} {{}}: {{}}', $.sampleId, "
                          "$.failedJob.job.JobId, $.failedJob.job.Status, $.failedJob.job.StatusReason)")},
        f"{step.state} not submitted": {
            "Type": "Fail", "Error": JOB_NOT_SUBMITTED,
            "CausePath": (f"States.Format('sample {{}}: {step.tool} job not submitted: {{}}: {{}}', $.sampleId, "
                          "$.failure.Error, $.failure.Cause)")},
    }


def sample_pipeline() -> dict:
    """One sample: Isaac, then Strelka -> SnpEff alongside SamtoolsStats; the job ids and outputs at the end."""
    return {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": ISAAC.state,
        "States": {
            ISAAC.state: job(ISAAC, next="Analyse"),
            **job_failure_states(ISAAC),
            "Analyse": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": STRELKA.state, "States": {
                        STRELKA.state: job(STRELKA, next=SNPEFF.state), **job_failure_states(STRELKA),
                        SNPEFF.state: job(SNPEFF), **job_failure_states(SNPEFF)}},
                    {"StartAt": SAMTOOLS.state, "States": {
                        SAMTOOLS.state: job(SAMTOOLS), **job_failure_states(SAMTOOLS)}},
                ],
                "ResultSelector": {"strelka.$": "$[0].done.strelka", "snpEff.$": "$[0].done.snpEff",
                                   "samtoolsStats.$": "$[1].done.samtoolsStats"},
                "ResultPath": "$.analysis",
                "Next": "Sample done",
            },
            "Sample done": {"Type": "Pass", "End": True, "Parameters": {
                "sampleId.$": "$.sampleId", "outputs.$": "$.outputs",
                "jobs": {"isaac.$": "$.done.isaac.jobId", "strelka.$": "$.analysis.strelka.jobId",
                         "snpEff.$": "$.analysis.snpEff.jobId",
                         "samtoolsStats.$": "$.analysis.samtoolsStats.jobId"}}},
        },
    }


def genomics_flow(*, plan_arn: pulumi.Input[str], max_concurrency: int, alerts_topic_arn: pulumi.Input[str]) -> dict:
    return definition(
        comment="Genomics secondary analysis per sample on AWS Batch: Isaac -> [Strelka -> snpEff] + samtools stats.",
        start_at="Plan", workflow="genomics", alerts_topic_arn=alerts_topic_arn, states={
            "Plan": invoke("Plan", plan_arn, next="Samples"),
            "Samples": {
                "Type": "Map", "ItemsPath": "$.samples", "MaxConcurrency": max_concurrency,
                "ItemProcessor": sample_pipeline(),
                "ResultSelector": {"samples.$": "$"}, "ResultPath": "$",
                "Catch": catch_all("Samples"),
                "End": True,
            },
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

        plan = Function(f"{name}-plan", FunctionArgs(
            package="genomics", handler="plan.handler", region=args.region,
            description="Validate a genomics input and plan each sample's Batch jobs",
            environment={
                "RESULTS_BUCKET": s.results_bucket,
                "INPUT_BUCKETS": ",".join(s.input_buckets),
                "JOB_DEFINITIONS": pulumi.Output.json_dumps({k: d.arn for k, d in batch.definitions.items()}),
                "JOB_QUEUES": pulumi.Output.json_dumps({k: q.arn for k, q in batch.queues.items()}),
            },
            log_retention_days=args.log_retention_days), inside)     # pure computation: no AWS permissions

        region = args.region or aws.get_region_output().region
        account = aws.get_caller_identity_output().account_id
        flow = Workflow(f"{name}-flow", WorkflowArgs(
            definition=pulumi.Output.json_dumps(genomics_flow(
                plan_arn=plan.arn, max_concurrency=s.max_concurrent_samples, alerts_topic_arn=args.alerts.arn)),
            alerts=args.alerts, invokes=[plan], region=args.region, log_retention_days=args.log_retention_days,
            statements=submit_statements(batch, region=region, account=account)), inside)

        self.batch = batch
        self.state_machine_arn = flow.arn
        self.register_outputs({"stateMachineArn": flow.arn})


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
