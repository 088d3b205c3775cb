"""The opsflows policies: mandatory least-privilege and observability guardrails, advisory tagging."""
from . import iam, resources, s3, tags

POLICIES = [
    iam.no_wildcard_actions,
    iam.resource_star_allowlist,
    resources.sns_encrypted,
    resources.state_machine_observable,
    resources.lambda_runtime_tracing,
    resources.log_retention,
    resources.event_target_role,
    resources.batch_vcpus,
    s3.buckets_block_public_access,
    tags.required,
]
