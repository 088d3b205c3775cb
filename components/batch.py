"""The genomics Batch layer: Spot compute with a scratch volume, two job queues, one job definition per tool.

    launch template (encrypted scratch EBS volume -> /docker_scratch)
      -> SPOT compute environment (price-capacity-optimized, 0..maxVcpus)  [+ on-demand fallback, second]
      -> job queues: high (isaac, strelka) and low (snpEff, samtools stats)
    job definitions: isaac, strelka, snpEff, samtools stats; /docker_scratch mounted at /scratch; retried on
    Spot reclamation only. Roles: Batch service role, instance role + profile, job role (read inputs, write results).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .iam import allow, assume_role_policy, policy_document
from .settings import GenomicsSettings

SCRATCH_HOST_PATH = "/docker_scratch"     # where the launch template mounts the scratch volume on each instance
SCRATCH_CONTAINER_PATH = "/scratch"      # where every job sees it (the seed's workingDir)
SCRATCH_DEVICE = "/dev/xvdb"


@dataclass(frozen=True)
class Tool:
    key: str              # the execution input's per-tool object (and job name prefix)
    image_attr: str       # GenomicsImages attribute
    vcpus: int
    memory_mib: int


# The seed's job definitions (part 3): Isaac holds an uncompressed reference index in memory.
TOOLS = (
    Tool("isaac", "isaac", 32, 80_000),
    Tool("strelka", "strelka", 32, 32_000),
    Tool("snpEff", "snpeff", 4, 10_000),
    Tool("samtoolsStats", "samtools_stats", 4, 10_000),
)

# Spot reclamation ends an attempt with a status reason starting "Host EC2": retry those (3 attempts in all);
# a tool's own failure (any other reason) is final, so the workflow fails and alerts at once.
RETRY_ON_SPOT_RECLAMATION = aws.batch.JobDefinitionRetryStrategyArgs(attempts=3, evaluate_on_exits=[
    aws.batch.JobDefinitionRetryStrategyEvaluateOnExitArgs(on_status_reason="Host EC2*", action="RETRY"),
    aws.batch.JobDefinitionRetryStrategyEvaluateOnExitArgs(on_reason="*", action="EXIT"),
])

# A job no instance can ever hold (more vCPUs or memory than the allowed instance types or maxVcpus) would wait
# RUNNABLE at the head of its queue forever, and its execution with it: Batch cancels it after 10 minutes
# ("Terminated by JobStateTimeLimit action ..."), which fails the sample with that reason in the alert.
CANCEL_NEVER_PLACEABLE = [
    aws.batch.JobQueueJobStateTimeLimitActionArgs(action="CANCEL", state="RUNNABLE", max_time_seconds=600, reason=r)
    for r in ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE")]

# AWS managed policies for the two service-side roles Batch needs; both are the documented minimum for their
# role (the seed's EC2FullAccess/S3FullAccess are gone: S3 access is the job role's, scoped to buckets).
BATCH_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBatchServiceRole"
ECS_INSTANCE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"


def scratch_user_data() -> str:
    """MIME multi-part user data (the form Batch merges with its own) that formats the scratch volume once and
    mounts it at /docker_scratch before the ECS agent starts jobs. On Nitro instances the EBS volume appears as
    NVMe; Amazon Linux's ec2-utils udev rules keep the launch template's device name as a symlink."""
    script = f"""#!/bin/bash
set -euo pipefail
dev={SCRATCH_DEVICE}
for _ in $(seq 1 60); do [ -b "$dev" ] && break; sleep 2; done
blkid "$dev" >/dev/null 2>&1 || mkfs -t xfs "$dev"
mkdir -p {SCRATCH_HOST_PATH}
echo "UUID=$(blkid -s UUID -o value "$dev") {SCRATCH_HOST_PATH} xfs defaults,nofail 0 2" >> /etc/fstab
mount {SCRATCH_HOST_PATH}
chmod 1777 {SCRATCH_HOST_PATH}
"""
    return ("MIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="==OPSFLOWS=="\n\n'
            "--==OPSFLOWS==\n"
            'Content-Type: text/x-shellscript; charset="us-ascii"\n\n'
            f"{script}\n"
            "--==OPSFLOWS==--\n")


@dataclass(frozen=True)
class BatchLayerArgs:
    settings: GenomicsSettings
    region: str | None = None


class BatchLayer(pulumi.ComponentResource):
    """Compute environments, job queues and job definitions for the genomics tools, with their roles."""

    def __init__(self, name: str, args: BatchLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:batch:BatchLayer", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        s, region = args.settings, args.region
        tags = {"opsflows:capability": "genomics"}

        # --- roles ---------------------------------------------------------------------------------------
        account = aws.get_caller_identity_output().account_id
        self.service_role = aws.iam.Role(f"{name}-service", description="AWS Batch manages opsflows genomics compute",
                                         assume_role_policy=assume_role_policy("batch.amazonaws.com",
                                                                               source_account=account), opts=inside)
        service_policy = aws.iam.RolePolicyAttachment(f"{name}-service", role=self.service_role.name,
                                                      policy_arn=BATCH_SERVICE_POLICY, opts=inside)
        self.instance_role = aws.iam.Role(f"{name}-instance", description="ECS agent on opsflows genomics instances",
                                          assume_role_policy=assume_role_policy("ec2.amazonaws.com"), opts=inside)
        aws.iam.RolePolicyAttachment(f"{name}-instance", role=self.instance_role.name, policy_arn=ECS_INSTANCE_POLICY,
                                     opts=inside)
        self.instance_profile = aws.iam.InstanceProfile(f"{name}-instance", role=self.instance_role.name, opts=inside)

        self.job_role = aws.iam.Role(f"{name}-job", description="opsflows genomics tools: read inputs, write results",
                                     assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com",
                                                                           source_account=account), opts=inside)
        aws.iam.RolePolicy(f"{name}-job", role=self.job_role.id, policy=policy_document(job_statements(s)),
                           opts=inside)

        # --- compute ------------------------------------------------------------------------------------
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-scratch", description="opsflows genomics: encrypted scratch volume at /docker_scratch",
            update_default_version=True,
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=SCRATCH_DEVICE, ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=s.scratch_volume_gib, volume_type="gp3", encrypted="true",
                    delete_on_termination="true"))],
            # IMDSv2 only, one hop: containers get the job role's credentials, never the instance role's.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            user_data=base64.b64encode(scratch_user_data().encode()).decode(),
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="volume", tags=tags)],
            region=region, opts=inside)

        def environment(kind: str, compute_type: str, allocation: str) -> aws.batch.ComputeEnvironment:
            return aws.batch.ComputeEnvironment(
                f"{name}-{kind}", type="MANAGED", service_role=self.service_role.arn,
                compute_resources=aws.batch.ComputeEnvironmentComputeResourcesArgs(
                    type=compute_type, allocation_strategy=allocation, min_vcpus=0, max_vcpus=s.max_vcpus,
                    instance_types=list(s.instance_types), subnets=list(s.subnet_ids),
                    security_group_ids=list(s.security_group_ids), instance_role=self.instance_profile.arn,
                    ec2_configurations=[aws.batch.ComputeEnvironmentComputeResourcesEc2ConfigurationArgs(
                        image_type="ECS_AL2023")],
                    launch_template=aws.batch.ComputeEnvironmentComputeResourcesLaunchTemplateArgs(
                        launch_template_id=self.launch_template.id,
                        version=self.launch_template.latest_version.apply(str)),
                    tags={**tags, "Name": f"opsflows-genomics-{kind}"}),   # applied to the instances
                tags=tags, region=region,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service_policy]))

        self.spot = environment("spot", "SPOT", "SPOT_PRICE_CAPACITY_OPTIMIZED")
        environments = [self.spot]
        if s.on_demand_fallback:
            self.on_demand = environment("on-demand", "EC2", "BEST_FIT_PROGRESSIVE")
            environments.append(self.on_demand)
        orders = [aws.batch.JobQueueComputeEnvironmentOrderArgs(order=i + 1, compute_environment=env.arn)
                  for i, env in enumerate(environments)]
        self.queues = {
            priority: aws.batch.JobQueue(f"{name}-{priority}", priority=weight, state="ENABLED",
                                         compute_environment_orders=orders,
                                         job_state_time_limit_actions=CANCEL_NEVER_PLACEABLE,
                                         tags=tags, region=region, opts=inside)
            for priority, weight in (("high", 1000), ("low", 1))
        }

        # --- job definitions ----------------------------------------------------------------------------
        self.definitions = {
            tool.key: aws.batch.JobDefinition(
                f"{name}-{tool.key.lower()}", type="container", platform_capabilities=["EC2"], propagate_tags=True,
                container_properties=container_properties(getattr(s.images, tool.image_attr), tool,
                                                          self.job_role.arn),
                retry_strategy=RETRY_ON_SPOT_RECLAMATION, tags=tags, region=region, opts=inside)
            for tool in TOOLS
        }

        self.register_outputs({
            "queues": {k: q.arn for k, q in self.queues.items()},
            "definitions": {k: d.arn for k, d in self.definitions.items()},
        })


def container_properties(image: str | None, tool: Tool, job_role_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({
        "image": image,
        "jobRoleArn": job_role_arn,
        "resourceRequirements": [{"type": "VCPU", "value": str(tool.vcpus)},
                                 {"type": "MEMORY", "value": str(tool.memory_mib)}],
        "mountPoints": [{"containerPath": SCRATCH_CONTAINER_PATH, "readOnly": False, "sourceVolume": "docker_scratch"}],
        "volumes": [{"name": "docker_scratch", "host": {"sourcePath": SCRATCH_HOST_PATH}}],
    })


def job_statements(s: GenomicsSettings) -> list[dict]:
    """The tools read the inputs (and what earlier tools wrote) and write only under the results bucket."""
    readable = sorted({*s.input_buckets, s.results_bucket})
    return [
        allow(["s3:ListBucket"], [f"arn:aws:s3:::{b}" for b in readable], sid="ListInputs"),
        allow(["s3:GetObject"], [f"arn:aws:s3:::{b}/*" for b in readable], sid="ReadInputs"),
        allow(["s3:PutObject", "s3:AbortMultipartUpload"], [f"arn:aws:s3:::{s.results_bucket}/*"],
              sid="WriteResults"),
    ]
