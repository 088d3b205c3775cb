"""SNS notifications delivered to a Lambda subscription, as SNS sends them.

AWS: a Lambda subscribed to a topic is invoked with `{"Records": [{"EventSource": "aws:sns", "Sns": {"Type":
"Notification", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "MessageAttributes": {name: {"Type",
"Value"}}, ...}}]}` naming the topic and carrying the message's own attributes.
moto 5.2.5: the record's TopicArn is "arn:aws:sns:EXAMPLE", its MessageId fixed, its MessageAttributes two fixed
test values, whatever was published.
Here: the record carries the topic, message id, subject and attributes of the publish.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from moto.awslambda.utils import get_backend
from moto.sns.models import Subscription


def event(subscription: Subscription, message: str, message_id: str, subject: str | None,
          attributes: dict[str, Any] | None) -> dict:
    return {"Records": [{
        "EventVersion": "1.0", "EventSource": "aws:sns", "EventSubscriptionArn": subscription.arn,
        "Sns": {"Type": "Notification", "MessageId": message_id, "TopicArn": subscription.topic.arn,
                "Subject": subject, "Message": message,
                "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE", "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {name: {"Type": value.get("Type", "String"), "Value": value.get("Value")}
                                      for name, value in (attributes or {}).items()}}}]}


def apply() -> None:
    original = Subscription.publish

    def publish(self: Subscription, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                deduplication_id: str | None = None, message_structure: str | None = None) -> None:
        if self.protocol != "lambda":
            return original(self, message, message_id, subject, message_attributes, group_id, deduplication_id,
                            message_structure)
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(message_attributes, message):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        parts = self.endpoint.split(":")
        function = get_backend(self.account_id, parts[3])._lambdas.get_function_by_name_or_arn_with_qualifier(
            parts[6], parts[7] if len(parts) == 8 else None)
        function.invoke(json.dumps(event(self, message, message_id, subject, message_attributes)), {}, {})
        return None

    Subscription.publish = publish
