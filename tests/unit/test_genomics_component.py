"""The genomics component as registered: Batch resources, IAM (parsed), the ASL's shape, where it is deployed."""
from __future__ import annotations

import base64
import json

import pytest

from localcloud import LocalCloud
from localcloud.scenarios.genomics import IMAGES, INPUT_BUCKET, RESULTS_BUCKET, genomics_config, network

TOOLS = {"isaac": (32, 80_000, "isaac"), "strelka": (32, 32_000, "strelka"), "snpeff": (4, 10_000, "snpeff"),
         "samtoolsstats": (4, 10_000, "samtoolsStats")}
FULL_ACCESS = ("AmazonEC2FullAccess", "AmazonS3FullAccess", "AdministratorAccess")


@pytest.fixture(scope="module")
def deployed():
    """Genomics on with the on-demand fallback; the DR stack given the same config (which it must ignore); and
    the default spot-only pipeline. (Deployments are records: they outlive their cloud.)"""
    with LocalCloud() as cloud:
        config = genomics_config(*network(), maxVcpus=512, onDemandFallback=True, maxConcurrentSamples=4)
        made = {"primary": cloud.deploy("primary", config=config), "dr": cloud.deploy("dr", config={
            "opsflows:genomics": {**config["opsflows:genomics"], "subnetIds": ["subnet-0abc"],
                                  "securityGroupIds": ["sg-0abc"]}})}
    with LocalCloud() as cloud:
        made["spot_only"] = cloud.deploy("primary", config=genomics_config(*network()))
    return made


def one(deployment, type_token: str, logical_suffix: str):
    (found,) = [r for r in deployment.of_type(type_token) if r.name.endswith(logical_suffix)]
    return found


def statements(deployment, logical_prefix: str) -> list[dict]:
    found = []
    for r in deployment.of_type("aws:iam/rolePolicy:RolePolicy"):
        if r.name.startswith(logical_prefix):
            found += json.loads(r.inputs["policy"])["Statement"]
    return found


def asl(deployment) -> dict:
    (machine,) = [r for r in deployment.of_type("aws:sfn/stateMachine:StateMachine") if r.name.startswith("genomics")]
    return json.loads(machine.inputs["definition"])


def all_states(states: dict) -> dict:
    """Every state, including those inside Map processors and Parallel branches."""
    found = dict(states)
    for state in states.values():
        for inner in [state.get("ItemProcessor") or state.get("Iterator"), *state.get("Branches", [])]:
            if inner:
                found.update(all_states(inner["States"]))
    return found


def test_primary_stack_only(deployed):
    assert deployed["primary"].outputs["genomicsStateMachineArn"].startswith("arn:aws:states:us-west-2:")
    assert "genomicsStateMachineArn" not in deployed["dr"].outputs
    assert not [r for r in deployed["dr"].resources if r.type.startswith("aws:batch/")]


def test_spot_environment_scales_from_zero_with_price_capacity_optimized_spot(deployed):
    env = one(deployed["primary"], "aws:batch/computeEnvironment:ComputeEnvironment", "-spot")
    resources = env.inputs["computeResources"]
    assert env.inputs["type"] == "MANAGED"
    assert resources["type"] == "SPOT" and resources["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["minVcpus"] == 0 and resources["maxVcpus"] == 512 and resources["instanceTypes"] == ["optimal"]
    profile = one(deployed["primary"], "aws:iam/instanceProfile:InstanceProfile", "-instance")
    assert resources["instanceRole"] == profile.outputs["arn"]
    template = one(deployed["primary"], "aws:ec2/launchTemplate:LaunchTemplate", "-scratch")
    assert resources["launchTemplate"] == {"launchTemplateId": template.outputs["id"],
                                           "version": str(template.outputs["latestVersion"])}
    service = one(deployed["primary"], "aws:iam/role:Role", "-service")
    assert env.inputs["serviceRole"] == service.outputs["arn"]


def test_launch_template_adds_an_encrypted_scratch_volume_mounted_at_docker_scratch(deployed):
    template = one(deployed["primary"], "aws:ec2/launchTemplate:LaunchTemplate", "-scratch")
    (volume,) = template.inputs["blockDeviceMappings"]
    assert volume["deviceName"] == "/dev/xvdb"
    assert volume["ebs"]["encrypted"] == "true" and volume["ebs"]["volumeSize"] == 500
    user_data = base64.b64decode(template.inputs["userData"]).decode()
    assert user_data.startswith("MIME-Version: 1.0") and "text/x-shellscript" in user_data
    assert "mkfs -t xfs \"$dev\"" in user_data and "mount /docker_scratch" in user_data
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"


def test_queues_prefer_spot_then_on_demand(deployed):
    spot = one(deployed["primary"], "aws:batch/computeEnvironment:ComputeEnvironment", "-spot").outputs["arn"]
    on_demand = one(deployed["primary"], "aws:batch/computeEnvironment:ComputeEnvironment", "-on-demand")
    assert on_demand.inputs["computeResources"]["type"] == "EC2"
    for priority, weight in (("high", 1000), ("low", 1)):
        queue = one(deployed["primary"], "aws:batch/jobQueue:JobQueue", f"-{priority}")
        assert queue.inputs["priority"] == weight and queue.inputs["state"] == "ENABLED"
        assert {(a["reason"], a["action"]) for a in queue.inputs["jobStateTimeLimitActions"]} == {
            ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "CANCEL"),
            ("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", "CANCEL")}
        assert queue.inputs["computeEnvironmentOrders"] == [
            {"order": 1, "computeEnvironment": spot}, {"order": 2, "computeEnvironment": on_demand.outputs["arn"]}]
    spot_only = deployed["spot_only"]
    (only,) = spot_only.of_type("aws:batch/computeEnvironment:ComputeEnvironment")
    assert only.name.endswith("-spot")
    assert one(spot_only, "aws:batch/jobQueue:JobQueue", "-high").inputs["computeEnvironmentOrders"] == [
        {"order": 1, "computeEnvironment": only.outputs["arn"]}]


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_job_definitions_size_mount_scratch_and_retry_only_spot_reclamation(deployed, tool):
    vcpus, memory, image = TOOLS[tool]
    definition = one(deployed["primary"], "aws:batch/jobDefinition:JobDefinition", f"-{tool}")
    container = json.loads(definition.inputs["containerProperties"])
    assert container["image"] == IMAGES[image]
    assert {r["type"]: r["value"] for r in container["resourceRequirements"]} == {"VCPU": str(vcpus),
                                                                                  "MEMORY": str(memory)}
    assert container["jobRoleArn"] == one(deployed["primary"], "aws:iam/role:Role", "-job").outputs["arn"]
    assert container["mountPoints"] == [{"containerPath": "/scratch", "readOnly": False,
                                         "sourceVolume": "docker_scratch"}]
    assert container["volumes"] == [{"name": "docker_scratch", "host": {"sourcePath": "/docker_scratch"}}]
    assert definition.inputs["retryStrategy"] == {"attempts": 3, "evaluateOnExits": [
        {"onStatusReason": "Host EC2*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}]}
    assert definition.inputs["propagateTags"] is True


def test_job_role_reads_inputs_and_writes_only_under_the_results_bucket(deployed):
    granted = {a: s["Resource"] for s in statements(deployed["primary"], "genomics-batch-job") for a in s["Action"]}
    assert granted == {
        "s3:ListBucket": [f"arn:aws:s3:::{INPUT_BUCKET}", f"arn:aws:s3:::{RESULTS_BUCKET}"],
        "s3:GetObject": [f"arn:aws:s3:::{INPUT_BUCKET}/*", f"arn:aws:s3:::{RESULTS_BUCKET}/*"],
        "s3:PutObject": [f"arn:aws:s3:::{RESULTS_BUCKET}/*"],
        "s3:AbortMultipartUpload": [f"arn:aws:s3:::{RESULTS_BUCKET}/*"]}
    trust = json.loads(one(deployed["primary"], "aws:iam/role:Role", "-job").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_service_and_instance_roles_use_their_documented_policies_and_no_full_access(deployed):
    attached = {r.name: r.inputs["policyArn"]
                for r in deployed["primary"].of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == {
        "genomics-batch-service": "arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole",
        "genomics-batch-instance": "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"}
    for name, service in (("-service", "batch.amazonaws.com"), ("-instance", "ec2.amazonaws.com")):
        trust = json.loads(one(deployed["primary"], "aws:iam/role:Role", f"genomics-batch{name}").inputs[
            "assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Service": service}
    everything = json.dumps([r.inputs for r in deployed["primary"].resources if r.type.startswith("aws:iam/")])
    assert not any(name in everything for name in FULL_ACCESS)


def test_workflow_may_submit_only_to_its_own_queues_and_job_definitions(deployed):
    p = deployed["primary"]
    granted = {a: s for s in statements(p, "genomics-flow") for a in s["Action"]}
    queues = [one(p, "aws:batch/jobQueue:JobQueue", f"-{q}").outputs["arn"] for q in ("high", "low")]
    prefixes = [one(p, "aws:batch/jobDefinition:JobDefinition", f"-{t}").outputs["arnPrefix"]
                for t in ("isaac", "strelka", "snpeff", "samtoolsstats")]
    jobs = "arn:aws:batch:us-west-2:123456789012:job/*"
    assert granted["batch:SubmitJob"]["Resource"] == [*queues, *[a for p in prefixes for a in (p, f"{p}:*")], jobs]
    assert granted["batch:TerminateJob"]["Resource"] == [jobs]
    assert granted["batch:TagResource"]["Condition"] == {"ForAllValues:StringEquals": {
        "aws:TagKeys": ["opsflows:sample", "opsflows:execution", "opsflows:tool"]}}
    assert granted["batch:DescribeJobs"]["Resource"] == ["*"]
    assert granted["events:PutRule"]["Resource"] == [
        "arn:aws:events:us-west-2:123456789012:rule/StepFunctionsGetEventsForBatchJobsRule"]
    plan = one(p, "aws:lambda/function:Function", "genomics-plan-fn")
    assert granted["lambda:InvokeFunction"]["Resource"][0] == plan.outputs["arn"]
    for s in statements(p, "genomics-"):
        if s["Resource"] == ["*"]:
            assert s["Sid"].endswith("OnlySupportsStar"), s


def test_every_job_is_a_tagged_sync_task_and_nothing_polls(deployed):
    definition = asl(deployed["primary"])
    states = all_states(definition["States"])
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    jobs = {name: s for name, s in tasks.items() if s["Resource"].startswith("arn:aws:states:::batch")}
    assert sorted(jobs) == ["Isaac", "SamtoolsStats", "SnpEff", "Strelka"]
    for name, job in jobs.items():
        assert job["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        assert job["Parameters"]["PropagateTags"] is True
        assert job["Parameters"]["Tags"]["opsflows:sample.$"] == "$.sample.sampleId"
        # the parent's name, passed in: a Distributed Map child's own $$.Execution.Name is the child's
        assert job["Parameters"]["Tags"]["opsflows:execution.$"] == "$.execution"
        assert [c["ErrorEquals"] for c in job["Catch"]] == [["States.ALL"]]
        assert job["Catch"][0]["Next"] == f"{name} error"
    lambdas = [s for s in tasks.values() if s["Resource"].startswith("arn:aws:lambda")]
    assert len(lambdas) == 2 and not [s for s in states.values() if s["Type"] == "Wait"]   # plan, report
    choices = {name: s for name, s in states.items() if s["Type"] == "Choice"}
    assert sorted(choices) == ["Anything to run?", "Cohort passed?", "Sample failed?"]        # no status loops
    assert all(c.get("Next") != name for name, s in choices.items() for c in s["Choices"])
    assert definition["States"]["Samples"]["Catch"][0]["Next"] == "Samples failed"


def test_samples_run_as_a_distributed_map_over_the_plan_in_s3(deployed):
    samples = asl(deployed["primary"])["States"]["Samples"]
    assert samples["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert samples["MaxConcurrency"] == 4                                   # opsflows:genomics.maxConcurrentSamples
    assert samples["ToleratedFailurePercentage"] == 100                     # a breaking child stops no other
    assert samples["ItemReader"] == {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                                     "Parameters": {"Bucket.$": "$.plan.bucket", "Key.$": "$.plan.key"}}
    state = one(deployed["primary"], "aws:s3/bucket:Bucket", "genomics-state").outputs["bucket"]
    assert samples["ResultWriter"] == {"Resource": "arn:aws:states:::s3:putObject",
                                       "Parameters": {"Bucket": state, "Prefix.$": "$.run.mapResults"}}
    assert samples["ItemSelector"] == {"sample.$": "$$.Map.Item.Value", "execution.$": "$$.Execution.Name"}
    assert "ResultSelector" not in samples and samples["ResultPath"] == "$.results"


def test_isaac_then_strelka_to_snpeff_alongside_samtools_stats_each_failure_ending_only_its_branch(deployed):
    processor = asl(deployed["primary"])["States"]["Samples"]["ItemProcessor"]
    assert processor["StartAt"] == "Isaac" and processor["States"]["Isaac"]["Next"] == "Analyse"
    assert processor["States"]["Isaac error"]["End"] is True
    branches = processor["States"]["Analyse"]["Branches"]
    assert [b["StartAt"] for b in branches] == ["Strelka", "SamtoolsStats"]
    variants, qc = branches[0]["States"], branches[1]["States"]
    assert variants["Strelka"]["Next"] == "SnpEff" and variants["SnpEff"]["Next"] == "Variants done"
    assert variants["Strelka error"]["End"] and variants["Strelka error"]["Type"] == "Pass"     # no SnpEff after it
    assert qc["SamtoolsStats"]["Next"] == "QC done" and qc["SamtoolsStats error"]["End"]
    assert not [s for b in branches for s in b["States"].values() if s["Type"] == "Fail"]       # never the other branch
    assert processor["States"]["Sample failed?"]["Default"] == "Mark done"
    assert processor["States"]["Mark done"]["Next"] == "Sample succeeded"


def test_plan_and_report_functions_touch_only_their_own_objects(deployed):
    p = deployed["primary"]
    env = one(p, "aws:lambda/function:Function", "genomics-plan-fn").inputs["environment"]["variables"]
    assert json.loads(env["JOB_QUEUES"]) == {q: one(p, "aws:batch/jobQueue:JobQueue", f"-{q}").outputs["arn"]
                                             for q in ("high", "low")}
    assert json.loads(env["JOB_DEFINITIONS"])["snpEff"] == one(p, "aws:batch/jobDefinition:JobDefinition",
                                                               "-snpeff").outputs["arn"]
    assert env["RESULTS_BUCKET"] == RESULTS_BUCKET and env["INPUT_BUCKETS"] == INPUT_BUCKET
    state = one(p, "aws:s3/bucket:Bucket", "genomics-state").outputs["arn"]
    plan = {s["Sid"]: s for s in statements(p, "genomics-plan")}
    assert plan["ReadSamplesheets"]["Resource"] == [f"arn:aws:s3:::{INPUT_BUCKET}/*", f"arn:aws:s3:::{RESULTS_BUCKET}/*"]
    assert plan["ListDoneMarkers"]["Condition"] == {"StringLike": {"s3:prefix": ["*_opsflows/done/*"]}}
    assert plan["WritePlans"]["Resource"] == [f"{state}/runs/*"]
    assert not [s for s in statements(p, "genomics-plan") if s["Action"][0].startswith("batch:")]
    report = {s["Sid"]: s for s in statements(p, "genomics-report")}
    assert report["WriteReports"]["Resource"] == [f"arn:aws:s3:::{RESULTS_BUCKET}/*report.json",
                                                  f"arn:aws:s3:::{RESULTS_BUCKET}/*report.csv"]
    assert report["ReadPlansAndMapResults"]["Resource"] == [f"{state}/runs/*"]
    assert one(p, "aws:lambda/function:Function", "genomics-report-fn").inputs["environment"]["variables"][
        "TOLERATED_FAILED_PERCENT"] == "0"
    flow = {s["Sid"]: s for s in statements(p, "genomics-flow")}
    assert flow["WriteDoneMarkers"]["Resource"] == [f"arn:aws:s3:::{RESULTS_BUCKET}/*_opsflows/done/*"]
    assert flow["MapReadsPlansWritesResults"]["Resource"] == [f"{state}/runs/*"]
    machine = one(p, "aws:sfn/stateMachine:StateMachine", "genomics-flow-sm").outputs
    assert flow["StartChildExecutions"]["Resource"] == [machine["arn"]]


def test_the_state_bucket_is_private_encrypted_and_expires_run_files(deployed):
    p = deployed["primary"]
    bucket = one(p, "aws:s3/bucket:Bucket", "genomics-state").outputs["bucket"]
    block = one(p, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "genomics-state-private").inputs
    assert block["bucket"] == bucket and all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy",
                                                                  "ignorePublicAcls", "restrictPublicBuckets"))
    (rule,) = one(p, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "genomics-state-expiry"
                  ).inputs["rules"]
    assert rule["filter"]["prefix"] == "runs/" and rule["expiration"]["days"] == 7
