"""CloudWatch alarm actions that notify SNS topics.

AWS: when an alarm changes state, it notifies each SNS topic among the actions of the new state (AlarmActions for
ALARM, OKActions, InsufficientDataActions) when actions are enabled: subject `ALARM: "<name>" in <Region>`,
message a JSON document (AlarmName, AlarmDescription, AWSAccountId, NewStateValue, NewStateReason,
StateChangeTime, Region, AlarmArn, OldStateValue, Trigger). A topic in another Region cannot be an action.
moto 5.2.5: SetAlarmState (and metric evaluation, which moto does not do) only records the new state.
Here: a state change made with SetAlarmState publishes that notification to the SNS topics of its actions, so a
test can follow an alarm's notification to whoever subscribes (nothing else changes an alarm's state locally).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from moto.cloudwatch.models import Alarm
from moto.sns.models import sns_backends

REGION_NAMES = {"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
                "us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)",
                "eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)"}


def notification(alarm: Alarm, old: str) -> tuple[str, str]:
    region = REGION_NAMES.get(alarm.region_name, alarm.region_name)
    message = {"AlarmName": alarm.name, "AlarmDescription": alarm.description, "AWSAccountId": alarm.alarm_arn.split(":")[4],
               "NewStateValue": alarm.state_value, "NewStateReason": alarm.state_reason,
               "StateChangeTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
               "Region": region, "AlarmArn": alarm.alarm_arn, "OldStateValue": old,
               "Trigger": {"MetricName": alarm.metric_name, "Namespace": alarm.namespace,
                           "Statistic": str(alarm.statistic).upper(), "Period": alarm.period,
                           "EvaluationPeriods": alarm.evaluation_periods, "Threshold": alarm.threshold,
                           "ComparisonOperator": alarm.comparison_operator,
                           "Dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions]}}
    return f'{alarm.state_value}: "{alarm.name}" in {region}'[:100], json.dumps(message)


def apply() -> None:
    original = Alarm.update_state

    def update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        old = self.state_value
        original(self, reason, reason_data, state_value)
        if state_value == old or not self.actions_enabled:
            return
        actions = {"ALARM": self.alarm_actions, "OK": self.ok_actions,
                   "INSUFFICIENT_DATA": self.insufficient_data_actions}[state_value] or []
        subject, message = notification(self, old)
        for arn in actions:
            parts = arn.split(":")
            if len(parts) == 6 and parts[2] == "sns" and parts[3] == self.region_name:
                sns_backends[parts[4]][parts[3]].publish(message, arn=arn, subject=subject)

    Alarm.update_state = update_state
