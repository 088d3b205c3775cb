"""Genomics exercise (when the stack exports genomicsStateMachineArn): no job is run. The job queues (and their
compute environments) must be ENABLED and VALID and the job definitions ACTIVE; an invalid sample input must end
FAILED, with exactly one alert naming the execution and no job submitted."""
from __future__ import annotations

from typing import Any

from .alerts import AlertInbox, describe, exactly_one
from .context import Drill, pages
from .executions import finished, start, summary
from .outputs import DrillSetupError
from .report import Run

NAME = "genomics"
NEEDS = ("genomicsStateMachineArn",)
KINDS: tuple[str, ...] = ()                       # creates nothing in AWS but one (failed) execution
EXECUTION_TAG = "opsflows:execution"              # every job the pipeline submits carries its execution's name


def preflight(drill: Drill) -> None:
    drill.outputs.arn("genomicsStateMachineArn")
    for name in ("genomicsJobQueueArns", "genomicsJobDefinitionArns"):
        value = drill.outputs.get(name)
        if not isinstance(value, dict) or not value:
            raise DrillSetupError(f"output {name} must be an object of ARNs, got {value!r}")


def invalid_input(drill: Drill) -> dict:
    """A sample the Plan step must refuse before any job is submitted (paths that are not s3:// URIs)."""
    return {"sampleId": drill.name, "fastq1S3Path": "not-an-s3-uri", "fastq2S3Path": "not-an-s3-uri",
            "referenceS3Path": "s3://", "resultsS3Path": "opsflows fire drill: invalid on purpose",
            "workingDir": "/scratch", "isaac": {}, "strelka": {}, "snpEff": {}, "samtoolsStats": {}}


def run(drill: Drill, run: Run, inbox: AlertInbox) -> None:
    machine = drill.outputs.arn("genomicsStateMachineArn")
    region = machine.split(":")[3]
    batch = drill.client("batch", region)
    queues = list(drill.outputs.get("genomicsJobQueueArns").values())
    definitions = list(drill.outputs.get("genomicsJobDefinitionArns").values())

    described = list(pages(batch, "describe_job_queues", "jobQueues", jobQueues=queues))
    run.check("every job queue is ENABLED and VALID", len(described) == len(queues) and all(
        q["state"] == "ENABLED" and q["status"] == "VALID" for q in described),
        {q["jobQueueName"]: f"{q['state']}/{q['status']}" for q in described} or queues)
    environments = sorted({e["computeEnvironment"] for q in described for e in q.get("computeEnvironmentOrder", [])})
    found = list(pages(batch, "describe_compute_environments", "computeEnvironments",
                       computeEnvironments=environments)) if environments else []
    run.check("their compute environments are ENABLED and VALID", bool(found) and len(found) == len(environments)
              and all(e["state"] == "ENABLED" and e["status"] == "VALID" for e in found),
              {e["computeEnvironmentName"]: f"{e['state']}/{e['status']}" for e in found} or environments)
    jobs = list(pages(batch, "describe_job_definitions", "jobDefinitions", jobDefinitions=definitions))
    run.check("every job definition is ACTIVE", len(jobs) == len(definitions) and all(
        d["status"] == "ACTIVE" for d in jobs), {f"{d['jobDefinitionName']}:{d['revision']}": d["status"] for d in jobs}
        or definitions)

    name = f"{drill.name}-genomics-invalid"
    execution = start(drill, machine, name, invalid_input(drill))
    run.step(f"started {name} with an invalid sample input")
    ended = finished(drill, execution)
    run.check("the execution FAILED on the invalid input (InvalidSampleInput)",
              bool(ended) and ended["status"] == "FAILED" and ended.get("error") == "InvalidSampleInput",
              summary(ended) if ended else "still RUNNING at the deadline")
    alerts = inbox.matching(lambda m: execution in str(m.get("Message", "")))
    run.check("exactly one alert names the execution", exactly_one(alerts),
              "; ".join(describe(a) for a in alerts) or "no alert on " + ", ".join(inbox.topics()))
    submitted = submitted_by(batch, queues, name, drill)
    run.check("no job was submitted", submitted == [], submitted or "none in " + ", ".join(
        q.rsplit("/", 1)[-1] for q in queues))


def submitted_by(batch: Any, queues: list[str], execution_name: str, drill: Drill) -> list[str]:
    """Jobs in the pipeline's queues created since the drill began that the execution submitted (its tag, or the
    canary sample id in the job name)."""
    since = int(drill.started.timestamp() * 1000) - 5 * 60 * 1000
    ids = [j["jobId"] for q in queues for j in pages(
        batch, "list_jobs", "jobSummaryList", jobQueue=q,
        filters=[{"name": "AFTER_CREATED_AT", "values": [str(since)]}])]
    found = []
    for i in range(0, len(ids), 100):
        for job in batch.describe_jobs(jobs=ids[i:i + 100])["jobs"]:
            if (job.get("tags") or {}).get(EXECUTION_TAG) == execution_name or drill.name in job["jobName"]:
                found.append(f"{job['jobName']} ({job['jobId']}, {job['status']})")
    return found
