"""AWS Batch (compute environments, job queues, job definitions) and what a managed compute environment
launches with (EC2 launch template, IAM instance profile), created in moto."""
from __future__ import annotations

import json
from typing import Any

import boto3

from . import Created, creates


def _state(c: Created, **outputs: Any) -> dict:
    return {**c.inputs, **outputs}


def _tags(c: Created) -> dict:
    return dict(c.inputs.get("tags") or {})


@creates("aws:iam/instanceProfile:InstanceProfile")
def instance_profile(c: Created) -> tuple[str, dict]:
    iam = boto3.client("iam", region_name="us-east-1")
    name = c.physical_name(128)
    made = iam.create_instance_profile(InstanceProfileName=name, Path=c.inputs.get("path", "/"))["InstanceProfile"]
    if c.inputs.get("role"):
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=c.inputs["role"])
    return name, _state(c, name=name, arn=made["Arn"], uniqueId=made["InstanceProfileId"])


@creates("aws:ec2/launchTemplate:LaunchTemplate")
def launch_template(c: Created) -> tuple[str, dict]:
    i = c.inputs
    data: dict[str, Any] = {}
    if i.get("blockDeviceMappings"):
        data["BlockDeviceMappings"] = [_block_device(m) for m in i["blockDeviceMappings"]]
    if i.get("metadataOptions"):
        m = i["metadataOptions"]
        data["MetadataOptions"] = {k: v for k, v in {
            "HttpEndpoint": m.get("httpEndpoint"), "HttpTokens": m.get("httpTokens"),
            "HttpPutResponseHopLimit": int(m["httpPutResponseHopLimit"]) if m.get("httpPutResponseHopLimit") else None,
        }.items() if v is not None}
    if i.get("userData"):
        data["UserData"] = i["userData"]
    if i.get("tagSpecifications"):
        data["TagSpecifications"] = [{"ResourceType": t["resourceType"],
                                      "Tags": [{"Key": k, "Value": v} for k, v in (t.get("tags") or {}).items()]}
                                     for t in i["tagSpecifications"]]
    name = c.physical_name(128)
    made = boto3.client("ec2", region_name=c.region).create_launch_template(
        LaunchTemplateName=name, VersionDescription=i.get("description", ""), LaunchTemplateData=data)["LaunchTemplate"]
    template_id = made["LaunchTemplateId"]
    return template_id, _state(c, id=template_id, name=name, arn=c.arn("ec2", f"launch-template/{template_id}"),
                               latestVersion=made["LatestVersionNumber"], defaultVersion=made["DefaultVersionNumber"])


def _block_device(m: dict) -> dict:
    mapping: dict[str, Any] = {"DeviceName": m["deviceName"]}
    ebs = m.get("ebs")
    if ebs:
        mapping["Ebs"] = {k: v for k, v in {
            "VolumeSize": int(ebs["volumeSize"]) if ebs.get("volumeSize") else None,
            "VolumeType": ebs.get("volumeType"),
            "Encrypted": str(ebs["encrypted"]).lower() == "true" if ebs.get("encrypted") is not None else None,
            "DeleteOnTermination": (str(ebs["deleteOnTermination"]).lower() == "true"
                                    if ebs.get("deleteOnTermination") is not None else None),
            "KmsKeyId": ebs.get("kmsKeyId"),
        }.items() if v is not None}
    return mapping


@creates("aws:batch/computeEnvironment:ComputeEnvironment")
def compute_environment(c: Created) -> tuple[str, dict]:
    i = c.inputs
    name = c.physical_name(128)
    params: dict[str, Any] = {"computeEnvironmentName": name, "type": i["type"], "state": i.get("state", "ENABLED"),
                              "serviceRole": i.get("serviceRole")}
    if i.get("computeResources"):
        params["computeResources"] = _compute_resources(i["computeResources"])
    if _tags(c):
        params["tags"] = _tags(c)
    made = boto3.client("batch", region_name=c.region).create_compute_environment(**params)
    described = boto3.client("batch", region_name=c.region).describe_compute_environments(
        computeEnvironments=[made["computeEnvironmentArn"]])["computeEnvironments"][0]
    return made["computeEnvironmentArn"], _state(c, name=name, arn=made["computeEnvironmentArn"],
                                                 ecsClusterArn=described.get("ecsClusterArn"),
                                                 status=described.get("status"))


def _compute_resources(r: dict) -> dict:
    resources: dict[str, Any] = {
        "type": r["type"], "minvCpus": int(r.get("minVcpus", 0)), "maxvCpus": int(r["maxVcpus"]),
        "subnets": r["subnets"], "securityGroupIds": r.get("securityGroupIds") or [],
        "instanceTypes": r.get("instanceTypes") or [], "instanceRole": r.get("instanceRole"),
    }
    for wire, api in (("allocationStrategy", "allocationStrategy"), ("tags", "tags"),
                      ("spotIamFleetRole", "spotIamFleetRole"), ("bidPercentage", "bidPercentage")):
        if r.get(wire) is not None:
            resources[api] = r[wire]
    if r.get("launchTemplate"):
        lt = r["launchTemplate"]
        resources["launchTemplate"] = {k: str(v) for k, v in {
            "launchTemplateId": lt.get("launchTemplateId"), "launchTemplateName": lt.get("launchTemplateName"),
            "version": lt.get("version")}.items() if v is not None}
    if r.get("ec2Configurations"):
        resources["ec2Configuration"] = [{k: v for k, v in {
            "imageType": e.get("imageType"), "imageIdOverride": e.get("imageIdOverride")}.items() if v}
            for e in r["ec2Configurations"]]
    return resources


@creates("aws:batch/jobQueue:JobQueue")
def job_queue(c: Created) -> tuple[str, dict]:
    i = c.inputs
    name = c.physical_name(128)
    params: dict[str, Any] = {
        "jobQueueName": name, "state": i.get("state", "ENABLED"), "priority": int(i["priority"]),
        "computeEnvironmentOrder": [{"order": int(o["order"]), "computeEnvironment": o["computeEnvironment"]}
                                    for o in i.get("computeEnvironmentOrders") or []]}
    if i.get("jobStateTimeLimitActions"):
        params["jobStateTimeLimitActions"] = [
            {"reason": a["reason"], "state": a["state"], "maxTimeSeconds": int(a["maxTimeSeconds"]),
             "action": a["action"]} for a in i["jobStateTimeLimitActions"]]
    if _tags(c):
        params["tags"] = _tags(c)
    made = boto3.client("batch", region_name=c.region).create_job_queue(**params)
    return made["jobQueueArn"], _state(c, name=name, arn=made["jobQueueArn"])


@creates("aws:batch/jobDefinition:JobDefinition")
def job_definition(c: Created) -> tuple[str, dict]:
    i = c.inputs
    name = c.physical_name(128)
    params: dict[str, Any] = {"jobDefinitionName": name, "type": i["type"]}
    if i.get("containerProperties"):
        params["containerProperties"] = json.loads(i["containerProperties"]) \
            if isinstance(i["containerProperties"], str) else i["containerProperties"]
    if i.get("platformCapabilities"):
        params["platformCapabilities"] = i["platformCapabilities"]
    if i.get("propagateTags") is not None:
        params["propagateTags"] = bool(i["propagateTags"])
    if i.get("parameters"):
        params["parameters"] = i["parameters"]
    if i.get("retryStrategy"):
        rs = i["retryStrategy"]
        params["retryStrategy"] = {"attempts": int(rs.get("attempts", 1)), "evaluateOnExit": [
            {k: v for k, v in {"onStatusReason": e.get("onStatusReason"), "onReason": e.get("onReason"),
                               "onExitCode": e.get("onExitCode"), "action": e["action"]}.items() if v is not None}
            for e in rs.get("evaluateOnExits") or []]}
    if i.get("timeout"):
        params["timeout"] = {"attemptDurationSeconds": int(i["timeout"]["attemptDurationSeconds"])}
    if _tags(c):
        params["tags"] = _tags(c)
    made = boto3.client("batch", region_name=c.region).register_job_definition(**params)
    arn = made["jobDefinitionArn"]
    return arn, _state(c, name=name, arn=arn, arnPrefix=arn.rsplit(":", 1)[0], revision=made["revision"])
