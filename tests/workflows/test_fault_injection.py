"""The local cloud's fault injection: faults reach the workload as AWS sends them (status, body, error name),
the SDK and Step Functions retry what they would retry in AWS, Batch follows the job's retry strategy, and
the harness's own calls are never faulted."""
from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import LocalCloud, clock
from localcloud.faults import Fault, FaultSpecError
from localcloud.scenarios.genomics import genomics_config, jobs, network, sample_input

NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1})


def on_a_workload_thread(fn, *args):
    """Run `fn` as a handler or a Step Functions task would: on a thread that is not the harness's."""
    result: dict = {}

    def body():
        try:
            result["value"] = fn(*args)
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            result["error"] = exc

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.mark.parametrize("spec, problem", [
    ("s3.CopyObject", "expected SERVICE.Operation"),
    ("s3.CopyObject=SlowDown:0", "at least 1"),
    ("s3.CopyObject=SlowDown:rate=1.5", "rate must be in (0, 1]"),
    ("batch.Job=Boom", "a Batch job fault is one of"),
])
def test_a_fault_written_wrong_is_refused_saying_what_is_wrong(spec, problem):
    with pytest.raises(FaultSpecError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("]", r"\]")):
        Fault.parse(spec)


def test_a_fault_is_read_back_as_written():
    for spec in ("ec2.CopySnapshot=ResourceLimitExceeded:2", "s3.CopyObject@prod-site=AccessDenied:1",
                 "s3.CopyObject=SlowDown:rate=0.1", "lambda.Invoke@copy=Sandbox.Timedout",
                 "batch.Job@isaac=SpotReclaimed:1"):
        assert Fault.parse(spec).describe() == spec
    assert Fault.parse("sfn.StartExecution=ThrottlingException").service == "stepfunctions"


@pytest.mark.parametrize("service, call, spec, status", [
    ("ec2", lambda c: c.describe_snapshots(OwnerIds=["self"]), "ec2.DescribeSnapshots=UnauthorizedOperation:1", 403),
    ("s3", lambda c: c.list_buckets(), "s3.ListBuckets=AccessDenied:1", 403),
    ("iam", lambda c: c.list_users(), "iam.ListUsers=NoSuchEntity:1", 404),
    ("cloudtrail", lambda c: c.lookup_events(), "cloudtrail.LookupEvents=InvalidLookupAttributesException:1", 400),
    ("lambda", lambda c: c.list_functions(), "lambda.ListFunctions=ResourceNotFoundException:1", 404),
    ("batch", lambda c: c.describe_job_queues(), "batch.DescribeJobQueues=ClientException:1", 400),
])
def test_each_protocol_gets_the_aws_error_code_and_status(cloud, service, call, spec, status):
    (fault,) = cloud.inject(spec)
    client = boto3.client(service, region_name="us-west-2", config=NO_RETRY)
    with pytest.raises(ClientError) as raised:
        on_a_workload_thread(call, client)
    assert raised.value.response["Error"]["Code"] == fault.code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    on_a_workload_thread(call, client)                  # the count is spent: the next call goes through
    assert fault.injected == 1


def test_the_sdk_retries_throttling_and_5xx_as_in_aws_and_the_caller_never_sees_them(cloud):
    s3 = boto3.client("s3", region_name="us-west-2", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    cloud.client("s3").create_bucket(Bucket="fault-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    slow, _ = cloud.inject("s3.ListObjectsV2=SlowDown:2", "s3.GetBucketTagging=AccessDenied:1")
    sdk_sleeps = len(clock.SLEPT["sdk-retry"])
    on_a_workload_thread(lambda: s3.list_objects_v2(Bucket="fault-bucket"))
    assert slow.injected == 2 and cloud.metrics.api_calls["s3.ListObjectsV2"] == 3
    assert len(clock.SLEPT["sdk-retry"]) - sdk_sleeps == 2
    assert cloud.faults.report()[0] == {"fault": "s3.ListObjectsV2=SlowDown:2", "kind": "api", "injected": 2,
                                        "retried": 2}
    with pytest.raises(ClientError, match="AccessDenied"):    # a 403 is not retried
        on_a_workload_thread(lambda: s3.get_bucket_tagging(Bucket="fault-bucket"))
    assert cloud.metrics.api_calls["s3.GetBucketTagging"] == 1


def test_the_harness_is_never_faulted_nor_counted(cloud):
    cloud.inject("s3.ListBuckets=AccessDenied")
    cloud.client("s3").list_buckets()
    assert cloud.metrics.api_calls == {} and cloud.faults.faults[0].injected == 0


def test_a_rate_fault_hits_the_same_calls_for_the_same_seed():
    def hits(seed: int) -> list[str]:
        with LocalCloud(seed=seed) as cloud:
            cloud.inject("sts.GetSessionToken=ThrottlingException:rate=0.3")
            sts = boto3.client("sts", region_name="us-east-1", config=NO_RETRY)
            failed = []
            for i in range(40):
                try:
                    on_a_workload_thread(lambda: sts.get_session_token(DurationSeconds=900 + i))
                except ClientError:
                    failed.append(i)
            return failed
    assert hits(7) == hits(7)
    assert hits(7) != hits(8)


@pytest.fixture(scope="module")
def genomics():
    with LocalCloud() as cloud:
        arn = cloud.deploy("primary", genomics_config(*network())).outputs["genomicsStateMachineArn"]
        yield cloud, arn


def run(cloud, arn: str, sample: str, *faults: str) -> dict:
    injected = cloud.inject(*faults)
    try:
        execution = cloud.start(arn, sample_input(sample))
        cloud.run_until_idle()
    finally:
        cloud.clear_errors()
    assert all(f.injected for f in injected)
    return cloud.execution(execution)


def job(sample: str, tool: str) -> dict:
    return next(j for j in jobs() if j["tags"].get("opsflows:sample") == sample and j["tags"]["opsflows:tool"] == tool)


def test_a_lambda_throttle_reaches_step_functions_by_its_aws_name_and_is_retried(genomics):
    cloud, arn = genomics
    execution = run(cloud, arn, "THROTTLED", "lambda.Invoke=TooManyRequestsException:2")
    assert execution["status"] == "SUCCEEDED"
    errors = [e["lambdaFunctionFailedEventDetails"]["error"] for e in execution["history"]
              if "lambdaFunctionFailedEventDetails" in e]
    assert errors == ["Lambda.TooManyRequestsException"] * 2


def test_a_timed_out_lambda_reports_sandbox_timedout(genomics):
    cloud, arn = genomics
    execution = run(cloud, arn, "TIMEDOUT", "lambda.Invoke=Sandbox.Timedout")
    errors = {e["lambdaFunctionFailedEventDetails"]["error"] for e in execution["history"]
              if "lambdaFunctionFailedEventDetails" in e}
    assert errors == {"Sandbox.Timedout"} and execution["status"] == "FAILED"


def test_spot_reclamation_is_retried_by_the_job_definitions_strategy(genomics):
    cloud, arn = genomics
    execution = run(cloud, arn, "RECLAIMED", "batch.Job@RECLAIMED=SpotReclaimed:2")
    isaac = job("RECLAIMED", "isaac")
    assert execution["status"] == "SUCCEEDED" and isaac["status"] == "SUCCEEDED"
    assert [a.get("statusReason", "") for a in isaac["attempts"]][:2] == [
        "Host EC2 (instance i-0f1e2d3c4b5a69788) terminated."] * 2 and len(isaac["attempts"]) == 3


def test_spot_reclamation_past_the_retry_strategy_fails_the_job(genomics):
    cloud, arn = genomics
    execution = run(cloud, arn, "LOST", "batch.Job@LOST=SpotReclaimed:3")
    isaac = job("LOST", "isaac")
    assert execution["status"] == "FAILED" and isaac["status"] == "FAILED" and len(isaac["attempts"]) == 3
    assert isaac["statusReason"].startswith("Host EC2")


def test_a_container_error_is_not_retried(genomics):
    cloud, arn = genomics
    execution = run(cloud, arn, "EXITED", "batch.Job@EXITED=EssentialContainerExited:1")
    isaac = job("EXITED", "isaac")
    assert execution["status"] == "FAILED" and len(isaac["attempts"]) == 1
    assert isaac["statusReason"] == "Essential container in task exited"
