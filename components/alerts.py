"""The alert topic: SNS, encrypted with its own KMS key, email subscriptions from config."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AlertTopicArgs:
    emails: Sequence[str] = field(default_factory=tuple)
    region: str | None = None          # None = the stack's region


class AlertTopic(pulumi.ComponentResource):
    """SNS topic every workflow publishes its failures (and reports) to; CloudWatch alarms publish here too."""

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("opsflows:alerts:AlertTopic", name, None, opts)
        inside = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output().account_id

        # A customer managed key: the AWS managed SNS key cannot be used by CloudWatch alarms.
        self.key = aws.kms.Key(f"{name}-key", description=f"opsflows alerts ({name})", enable_key_rotation=True,
                               deletion_window_in_days=30, region=args.region,
                               policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
                                   {"Sid": "AccountAdministers", "Effect": "Allow",
                                    "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account, ":root")},
                                    "Action": "kms:*", "Resource": "*"},
                                   {"Sid": "AlarmsPublish", "Effect": "Allow",
                                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                                    "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
                               ]}), opts=inside)
        self.topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=self.key.arn, region=args.region, opts=inside)
        for i, email in enumerate(args.emails):
            aws.sns.TopicSubscription(f"{name}-email-{i}", topic=self.topic.arn, protocol="email", endpoint=email,
                                      region=args.region, opts=inside)

        self.arn = self.topic.arn
        self.key_arn = self.key.arn
        self.register_outputs({"topicArn": self.arn, "keyArn": self.key_arn})

    def publish_statements(self) -> list[dict]:
        """What a publisher (a state machine or a function) needs to publish to this encrypted topic."""
        return [{"Sid": "PublishAlerts", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [self.arn]},
                {"Sid": "EncryptAlerts", "Effect": "Allow", "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                 "Resource": [self.key_arn]}]
