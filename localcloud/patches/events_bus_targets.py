"""EventBridge rules whose target is another event bus (in another Region or account), as AWS delivers them.

AWS: the event arrives on the target bus as it was, with its own `region`, `account`, `resources`, `time` and
`id` (a rule on the target bus can match `"region": ["us-east-2"]` to take events forwarded from there).
moto: it re-puts the event on the target bus as a new one: `region` becomes the target bus's Region and
`resources` are dropped, so such a rule never matches. Here the event goes to the target bus's rules unchanged.
"""
from __future__ import annotations

import copy

from moto.events.models import Rule, events_backends
from moto.utilities.arns import parse_arn


def _is_bus(arn: str) -> bool:
    parsed = parse_arn(arn)
    return parsed.service == "events" and parsed.resource_type == "event-bus"


def apply() -> None:
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: dict, transform_input: bool = True) -> None:
        buses = [t for t in self.targets if _is_bus(t["Arn"])]
        if buses and self.event_pattern.matches_event(original_event):
            for target in buses:
                arn = parse_arn(target["Arn"])
                bus = events_backends[arn.account][arn.region].event_buses.get(arn.resource_id)
                for rule in list(bus.rules.values()) if bus else []:
                    rule.send_to_targets(copy.deepcopy(original_event))
        others = [t for t in self.targets if not _is_bus(t["Arn"])]
        if others:
            targets, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = targets

    Rule.send_to_targets = send_to_targets
