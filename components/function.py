"""A Lambda function from functions/<package> (+ functions/common): its own role, log group and policy."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from .iam import XRAY_WRITE, allow, assume_role_policy, policy_document
from .packaging import package_archive

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
# The public Powertools for AWS Lambda layer (Logger, event data classes) for this runtime and architecture.
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27"


@dataclass(frozen=True)
class FunctionArgs:
    package: str                                   # functions/<package>
    handler: str                                   # "<module>.handler", relative to the package
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statements: Sequence[dict] = ()                # what the function may call, each naming exact ARNs
    region: str | None = None                      # None = the stack's region
    timeout: int = 60
    memory: int = 256
    log_retention_days: int = 30
    description: str = ""
    layers: Sequence[str] = ()                     # more public layer ARNs, "{region}" filled in (after Powertools)


class Function(pulumi.ComponentResource):
    """One Lambda function with its role (least privilege), JSON logs with retention, and X-Ray tracing."""

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:function:Function", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        region = args.region or aws.get_region_output().region

        logs = aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=args.log_retention_days,
                                       region=args.region, opts=inside)
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                                 description=f"opsflows function {name}", opts=inside)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=policy_document([
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], logs.arn.apply(lambda a: f"{a}:*"), sid="OwnLogs"),
            XRAY_WRITE,
            *args.statements,
        ]), opts=inside)

        self.function = aws.lambda_.Function(
            f"{name}-fn",
            description=args.description or f"opsflows {args.package}.{args.handler}",
            runtime=RUNTIME, architectures=[ARCHITECTURE],
            handler=f"{args.package}.{args.handler}",
            code=package_archive(args.package),
            role=self.role.arn,
            timeout=args.timeout, memory_size=args.memory,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={
                "POWERTOOLS_SERVICE_NAME": f"opsflows-{args.package}", **args.environment}),
            layers=[pulumi.Output.from_input(region).apply(lambda r, arn=arn: arn.format(region=r))
                    for arn in (POWERTOOLS_LAYER, *args.layers)],
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
            region=args.region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))

        self.arn = self.function.arn
        self.name = self.function.name
        self.register_outputs({"arn": self.arn, "roleArn": self.role.arn})
