"""IAM, Lambda, Step Functions, EventBridge, SNS, KMS, CloudWatch (logs, alarms): the resources every
opsflows workflow is made of, created in moto."""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pulumi

from . import Created, client, creates


def _client(service: str, created: Created) -> Any:
    return client(service, created.region)


def _state(created: Created, **outputs: Any) -> dict:
    return {**created.inputs, **outputs}


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def zip_archive(archive: Any) -> bytes:
    """The zip a Pulumi AssetArchive of FileAssets/StringAssets becomes when deployed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, asset in sorted(archive.assets.items()):
            if isinstance(asset, pulumi.FileAsset):
                z.write(asset.path, name)
            elif isinstance(asset, pulumi.StringAsset):
                z.writestr(name, asset.text)
            else:
                raise TypeError(f"unsupported asset {name}: {type(asset).__name__}")
    return buffer.getvalue()


@creates("aws:iam/role:Role")
def role(c: Created) -> tuple[str, dict]:
    name = c.physical_name()
    made = client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=_json(c.inputs["assumeRolePolicy"]),
        Description=c.inputs.get("description", ""), Path=c.inputs.get("path", "/"))["Role"]
    for arn in c.inputs.get("managedPolicyArns") or []:
        client("iam").attach_role_policy(RoleName=name, PolicyArn=arn)
    return name, _state(c, name=name, arn=made["Arn"], uniqueId=made["RoleId"])


@creates("aws:iam/rolePolicy:RolePolicy")
def role_policy(c: Created) -> tuple[str, dict]:
    name = c.physical_name()
    client("iam").put_role_policy(
        RoleName=c.inputs["role"], PolicyName=name, PolicyDocument=_json(c.inputs["policy"]))
    return f"{c.inputs['role']}:{name}", _state(c, name=name)


@creates("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def role_policy_attachment(c: Created) -> tuple[str, dict]:
    client("iam").attach_role_policy(RoleName=c.inputs["role"],
                                                                    PolicyArn=c.inputs["policyArn"])
    return f"{c.inputs['role']}-{c.physical_name()}", _state(c)


@creates("aws:iam/policy:Policy")
def managed_policy(c: Created) -> tuple[str, dict]:
    made = client("iam").create_policy(
        PolicyName=c.physical_name(128), PolicyDocument=_json(c.inputs["policy"]),
        Description=c.inputs.get("description", ""))["Policy"]
    return made["Arn"], _state(c, arn=made["Arn"], name=made["PolicyName"], policyId=made["PolicyId"])


@creates("aws:cloudwatch/logGroup:LogGroup")
def log_group(c: Created) -> tuple[str, dict]:
    name = c.physical_name(512)
    logs = _client("logs", c)
    logs.create_log_group(logGroupName=name)
    if c.inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(c.inputs["retentionInDays"]))
    return name, _state(c, name=name, arn=c.arn("logs", f"log-group:{name}"))


@creates("aws:lambda/function:Function")
def function(c: Created) -> tuple[str, dict]:
    name = c.physical_name()
    params: dict[str, Any] = dict(
        FunctionName=name, Runtime=c.inputs["runtime"], Role=c.inputs["role"], Handler=c.inputs["handler"],
        Code={"ZipFile": zip_archive(c.inputs["code"])}, Timeout=int(c.inputs.get("timeout", 3)),
        MemorySize=int(c.inputs.get("memorySize", 128)), Architectures=c.inputs.get("architectures") or ["x86_64"],
        Environment={"Variables": (c.inputs.get("environment") or {}).get("variables") or {}},
        Description=c.inputs.get("description", ""))
    if c.inputs.get("tracingConfig"):
        params["TracingConfig"] = {"Mode": c.inputs["tracingConfig"]["mode"]}
    # Layers (the public Powertools layer) are not created in moto: locally Powertools comes from the venv.
    made = _client("lambda", c).create_function(**params)
    return name, _state(c, name=name, arn=made["FunctionArn"], invokeArn=made["FunctionArn"],
                        qualifiedArn=f"{made['FunctionArn']}:$LATEST", version="$LATEST")


@creates("aws:lambda/permission:Permission")
def lambda_permission(c: Created) -> tuple[str, dict]:
    statement_id = c.inputs.get("statementId") or c.physical_name(100)
    params: dict[str, Any] = dict(FunctionName=c.inputs["function"], StatementId=statement_id,
                                  Action=c.inputs["action"], Principal=c.inputs["principal"])
    for wire, api in (("sourceArn", "SourceArn"), ("sourceAccount", "SourceAccount")):
        if c.inputs.get(wire):
            params[api] = c.inputs[wire]
    _client("lambda", c).add_permission(**params)
    return f"{c.inputs['function']}/{statement_id}", _state(c, statementId=statement_id)


@creates("aws:sfn/stateMachine:StateMachine")
def state_machine(c: Created) -> tuple[str, dict]:
    name = c.physical_name(80)
    params: dict[str, Any] = dict(name=name, definition=c.inputs["definition"], roleArn=c.inputs["roleArn"],
                                  type=c.inputs.get("type", "STANDARD"))
    logging = c.inputs.get("loggingConfiguration")
    if logging:
        params["loggingConfiguration"] = {
            "level": logging.get("level", "OFF"), "includeExecutionData": bool(logging.get("includeExecutionData")),
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": logging["logDestination"]}}]
            if logging.get("logDestination") else []}
    if c.inputs.get("tracingConfiguration"):
        params["tracingConfiguration"] = {"enabled": bool(c.inputs["tracingConfiguration"].get("enabled"))}
    arn = _client("stepfunctions", c).create_state_machine(**params)["stateMachineArn"]
    return arn, _state(c, name=name, arn=arn)


@creates("aws:cloudwatch/eventRule:EventRule")
def event_rule(c: Created) -> tuple[str, dict]:
    name = c.physical_name()
    params: dict[str, Any] = dict(Name=name, Description=c.inputs.get("description", ""), State="ENABLED")
    if c.inputs.get("eventPattern"):
        params["EventPattern"] = _json(c.inputs["eventPattern"])
    if c.inputs.get("scheduleExpression"):
        params["ScheduleExpression"] = c.inputs["scheduleExpression"]
    arn = _client("events", c).put_rule(**params)["RuleArn"]
    return name, _state(c, name=name, arn=arn)


@creates("aws:cloudwatch/eventTarget:EventTarget")
def event_target(c: Created) -> tuple[str, dict]:
    target_id = c.inputs.get("targetId") or c.physical_name()
    target: dict[str, Any] = {"Id": target_id, "Arn": c.inputs["arn"]}
    for wire, api in (("roleArn", "RoleArn"), ("input", "Input"), ("inputPath", "InputPath")):
        if c.inputs.get(wire):
            target[api] = c.inputs[wire]
    _client("events", c).put_targets(Rule=c.inputs["rule"], Targets=[target])
    return f"{c.inputs['rule']}-{target_id}", _state(c, targetId=target_id)


@creates("aws:sns/topic:Topic")
def topic(c: Created) -> tuple[str, dict]:
    attributes = {"KmsMasterKeyId": c.inputs["kmsMasterKeyId"]} if c.inputs.get("kmsMasterKeyId") else {}
    arn = _client("sns", c).create_topic(Name=c.physical_name(256), Attributes=attributes)["TopicArn"]
    return arn, _state(c, arn=arn, name=arn.rsplit(":", 1)[1])


@creates("aws:sns/topicSubscription:TopicSubscription")
def subscription(c: Created) -> tuple[str, dict]:
    arn = _client("sns", c).subscribe(TopicArn=c.inputs["topic"], Protocol=c.inputs["protocol"],
                                      Endpoint=c.inputs["endpoint"], ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, _state(c, arn=arn)


@creates("aws:kms/key:Key")
def kms_key(c: Created) -> tuple[str, dict]:
    params: dict[str, Any] = {"Description": c.inputs.get("description", "")}
    if c.inputs.get("policy"):
        params["Policy"] = _json(c.inputs["policy"])
    meta = _client("kms", c).create_key(**params)["KeyMetadata"]
    return meta["KeyId"], _state(c, arn=meta["Arn"], keyId=meta["KeyId"])


@creates("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(c: Created) -> tuple[str, dict]:
    name = c.physical_name(255)
    i = c.inputs
    _client("cloudwatch", c).put_metric_alarm(
        AlarmName=name, AlarmDescription=i.get("alarmDescription", ""), Namespace=i["namespace"],
        MetricName=i["metricName"], Statistic=i.get("statistic", "Sum"), Period=int(i["period"]),
        EvaluationPeriods=int(i["evaluationPeriods"]), Threshold=float(i["threshold"]),
        ComparisonOperator=i["comparisonOperator"], TreatMissingData=i.get("treatMissingData", "missing"),
        Dimensions=[{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
        AlarmActions=i.get("alarmActions") or [])
    return name, _state(c, name=name, arn=c.arn("cloudwatch", f"alarm:{name}"))
