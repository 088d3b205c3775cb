"""The alert canary: an SQS queue per region, subscribed to the stack's alert topics, where the drill reads the
alerts its exercises cause (exactly what an on-call subscriber receives). Removed with the other canaries."""
from __future__ import annotations

import json
import time
from collections import Counter
from typing import Callable

from .context import Drill

# The canary listens where on-call subscribers do: every alert of every workflow reaches alertTopicArn (the
# credential response's too, whatever its region), so an alert that arrives anywhere else does not count.
ALERT_TOPIC_OUTPUT = "alertTopicArn"


class AlertInbox:
    def __init__(self, drill: Drill):
        self.drill = drill
        self.queues: dict[str, str] = {}          # region -> queue URL
        self.received: list[dict] = []            # every notification read so far: TopicArn, Subject, Message, ...

    def topics(self) -> dict[str, str]:
        return {ALERT_TOPIC_OUTPUT: self.drill.outputs.arn(ALERT_TOPIC_OUTPUT)}

    def open(self, say: Callable[[str], None]) -> None:
        by_region: dict[str, list[str]] = {}
        for arn in self.topics().values():
            by_region.setdefault(arn.split(":")[3], []).append(arn)
        for region, topics in sorted(by_region.items()):
            sqs, sns = self.drill.client("sqs", region), self.drill.client("sns", region)
            url = sqs.create_queue(QueueName=f"{self.drill.name}-alerts", tags=self.drill.tags,
                                   Attributes={"MessageRetentionPeriod": "3600", "SqsManagedSseEnabled": "true"}
                                   )["QueueUrl"]
            self.queues[region] = url
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            # SNS may deliver to the queue only from the stack's own topics.
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Sid": "StackTopicsDeliver", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topics}}}]})})
            for topic in topics:
                sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)
            say(f"[alerts] canary queue {arn.rsplit(':', 1)[1]} ({region}) subscribed to "
                + ", ".join(t.rsplit(":", 1)[1] for t in topics))

    def _read(self) -> None:
        wait = int(min(self.drill.options.poll, 20)) if self.drill.options.poll >= 1 else 0
        for region, url in self.queues.items():
            sqs = self.drill.client("sqs", region)
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
                for message in got:
                    try:
                        self.received.append(json.loads(message["Body"]))
                    except ValueError:
                        self.received.append({"Message": message["Body"]})
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                if not got:
                    break
                wait = 0

    def matching(self, predicate: Callable[[dict], bool]) -> list[dict]:
        """The alerts `predicate` accepts, waiting up to the deadline for the first; after it, one more read, so
        a duplicate delivered alongside is counted too."""
        def found() -> list[dict]:
            self._read()
            return [m for m in self.received if predicate(m)]
        first = self.drill.until(found)
        if not first:
            return []
        time.sleep(min(self.drill.options.poll, 2.0))
        return found()


def exactly_one(alerts: list[dict]) -> bool:
    """One alert, or - where one alert reaches several subscribed topics - one on each topic it reached: a
    second alert on the same topic is a duplicate the workflow should not have sent."""
    per_topic = Counter(a.get("TopicArn") for a in alerts)
    return bool(per_topic) and set(per_topic.values()) == {1}


def describe(alert: dict) -> str:
    return f"{alert.get('Subject') or '(no subject)'} [topic {str(alert.get('TopicArn', '?')).rsplit(':', 1)[-1]}]"
