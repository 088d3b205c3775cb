"""opsflows: read the stack's settings once, build the components, export the outputs."""
import pulumi

from components.alerts import AlertTopic, AlertTopicArgs
from components.bucket_sync import BucketSync, BucketSyncArgs
from components.credentials import CredentialResponse, CredentialResponseArgs
from components.genomics import GenomicsPipeline, GenomicsPipelineArgs
from components.settings import load, raw_config
from components.snapshots import SnapshotManagement, SnapshotManagementArgs
from components.tags import tag_everything

settings = load(raw_config(pulumi.Config("opsflows").get), pulumi.Config("aws").get("region"))
tag_everything(settings.tags)

alerts = AlertTopic("alerts", AlertTopicArgs(emails=settings.alert_emails))
pulumi.export("alertTopicArn", alerts.arn)

snapshots = SnapshotManagement("snapshots", SnapshotManagementArgs(
    role=settings.role, settings=settings.snapshots, region=settings.home_region, dr_region=settings.dr_region,
    alerts=alerts, log_retention_days=settings.log_retention_days))
pulumi.export("snapshotStateMachineArn", snapshots.state_machine_arn)
if settings.is_primary:
    pulumi.export("drRegion", settings.dr_region)          # where the DR copies are (the fire drill checks them)

if settings.is_primary and settings.credential_response.enabled:
    credentials = CredentialResponse("credentials", CredentialResponseArgs(
        settings=settings.credential_response, alerts=alerts, home_region=settings.home_region,
        log_retention_days=settings.log_retention_days))
    pulumi.export("credentialResponseStateMachineArn", credentials.state_machine_arn)
    pulumi.export("credentialAlertTopicArn", credentials.alert_topic_arn)

if settings.is_primary and settings.genomics.enabled:
    genomics = GenomicsPipeline("genomics", GenomicsPipelineArgs(
        settings=settings.genomics, alerts=alerts, log_retention_days=settings.log_retention_days))
    pulumi.export("genomicsStateMachineArn", genomics.state_machine_arn)
    pulumi.export("genomicsJobQueueArns", {k: q.arn for k, q in genomics.batch.queues.items()})
    pulumi.export("genomicsJobDefinitionArns", {k: d.arn for k, d in genomics.batch.definitions.items()})

if settings.is_primary and settings.bucket_sync.enabled:
    bucket_sync = BucketSync("bucket-sync", BucketSyncArgs(
        settings=settings.bucket_sync, region=settings.home_region, alerts=alerts,
        log_retention_days=settings.log_retention_days))
    pulumi.export("bucketSyncStateMachineArn", bucket_sync.state_machine_arn)
    pulumi.export("bucketSyncAllowedBuckets", list(settings.bucket_sync.allowed_buckets))
