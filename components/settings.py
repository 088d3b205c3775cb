"""Typed, validated stack settings.

Pure Python: `load(raw, home_region)` takes the stack's raw config values (as `__main__.py` reads them
from `pulumi.Config`) and returns `Settings`, or raises one `SettingsError` that names every bad key,
the value it had and what is allowed. Nothing here imports Pulumi, so it is unit-testable on its own.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Role = Literal["primary", "dr"]

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# An allowedBuckets entry: a bucket name, or a name prefix of at least 3 characters ending in * (opsflows-drill-*).
ALLOWED_BUCKET = re.compile(r"^(?:[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]|[a-z0-9][a-z0-9.-]{2,61}\*)$")
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
UNSET = object()


class SettingsError(ValueError):
    """The stack configuration is invalid; the message names each key, its value and what is allowed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class _Reader:
    """Reads typed values out of one config object, recording every problem instead of stopping."""

    def __init__(self, key: str, raw: Any, problems: list[str], separator: str = "."):
        self.key, self.problems, self.separator = key, problems, separator
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.fail("", raw, "an object")
            raw = {}
        self.raw = raw

    def fail(self, name: str, value: Any, allowed: str) -> None:
        where = f"{self.key}{self.separator}{name}" if name else self.key
        self.problems.append(f"{where}: got {value!r}; must be {allowed}")

    def get(self, name: str, default: Any, check: Callable[[Any], bool], allowed: str) -> Any:
        value = self.raw.get(name, UNSET)
        if value is UNSET or value is None:
            return default
        if not check(value):
            self.fail(name, value, allowed)
            return default
        return value

    def integer(self, name: str, default: int | None, low: int = 1, high: int | None = None) -> int | None:
        allowed = f"an integer >= {low}" + (f" and <= {high}" if high is not None else "")
        return self.get(name, default, lambda v: _is_int(v) and v >= low and (high is None or v <= high), allowed)

    def boolean(self, name: str, default: bool) -> bool:
        return self.get(name, default, lambda v: isinstance(v, bool), "true or false")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        return self.get(name, default, lambda v: v in choices, "one of " + ", ".join(choices))

    def string(self, name: str, default: str | None, pattern: re.Pattern | None = None,
               allowed: str = "a non-empty string") -> str | None:
        return self.get(name, default, lambda v: isinstance(v, str) and v != "" and
                        (pattern is None or bool(pattern.match(v))), allowed)

    def strings(self, name: str, default: list[str], pattern: re.Pattern | None = None,
                allowed: str = "a list of non-empty strings") -> list[str]:
        return list(self.get(name, default, lambda v: isinstance(v, list) and all(
            isinstance(s, str) and s and (pattern is None or pattern.match(s)) for s in v), allowed))

    def required(self, name: str, value: Any, why: str) -> None:
        if not value:
            self.problems.append(f"{self.key}{self.separator}{name}: missing; required {why}")

    def unknown(self, known: set[str]) -> None:
        for name in sorted(set(self.raw) - known):
            self.problems.append(f"{self.key}{self.separator}{name}: unknown key; known keys are " + ", ".join(sorted(known)))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class SnapshotSettings:
    retain: int
    max_age_days: int | None = None
    dry_run: bool = False
    kms_key_id: str | None = None     # DR copy encryption key; None = the account's EBS default key
    enabled: bool = True
    copy_deadline_hours: float = 24   # how long a snapshot may wait for a DR copy slot before it is alerted
    copy_attempts: int = 3            # copies AWS may fail for one snapshot before it is alerted
    max_concurrent_copies: int = 20   # DR copies in flight at once (EBS allows 20 per destination Region)


@dataclass(frozen=True)
class CredentialResponseSettings:
    enabled: bool = True
    region: str = "us-east-1"
    action: Literal["deactivate", "delete"] = "deactivate"
    quarantine: bool = False
    revoke_sessions: bool = False
    lookback_hours: int = 24
    max_events: int = 1000                            # CloudTrail events summarised per key, at most
    activity_regions: tuple[str, ...] = ()            # where to look the key's activity up; () = `region` only


@dataclass(frozen=True)
class BucketSyncSettings:
    enabled: bool = True
    allowed_buckets: tuple[str, ...] = ()        # the only buckets the sync may touch (names, or prefixes ending in *)
    multipart_threshold_bytes: int = 5 * 1024**3    # larger objects are copied with UploadPartCopy
    part_size_bytes: int = 512 * 1024**2         # part size when the source's own layout cannot be reproduced
    max_concurrency: int = 40                    # copy/delete child executions running at once (8 objects each)
    pages_per_scan: int = 1000                   # listing pages per bucket in one Scan invocation
    scans_per_execution: int = 500               # Scan loops in one execution before it continues as a new one
    batch_objects: int = 1000                    # objects per copy child execution
    listing_parallelism: int = 32                # key ranges listed at once (ListRanges children), at most


@dataclass(frozen=True)
class GenomicsImages:
    isaac: str | None = None
    strelka: str | None = None
    snpeff: str | None = None
    samtools_stats: str | None = None


@dataclass(frozen=True)
class GenomicsSettings:
    enabled: bool = False
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    max_vcpus: int = 256
    instance_types: tuple[str, ...] = ("optimal",)
    images: GenomicsImages = field(default_factory=GenomicsImages)
    results_bucket: str | None = None
    input_buckets: tuple[str, ...] = ()
    on_demand_fallback: bool = False
    scratch_volume_gib: int = 500
    max_concurrent_samples: int = 10                # child executions (samples) of one cohort running at once
    tolerated_failed_samples_percent: float = 0     # a cohort with at most this % failed samples ends SUCCEEDED


@dataclass(frozen=True)
class Settings:
    role: Role
    home_region: str
    dr_region: str | None
    snapshots: SnapshotSettings
    credential_response: CredentialResponseSettings
    bucket_sync: BucketSyncSettings
    genomics: GenomicsSettings
    alert_emails: tuple[str, ...] = ()
    log_retention_days: int = 30
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_primary(self) -> bool:
        return self.role == "primary"


CONFIG_KEYS = ("role", "drRegion", "alertEmails", "logRetentionDays", "tags", "snapshots", "credentialResponse",
               "bucketSync", "genomics")


def raw_config(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The stack's opsflows:* values as Python data (objects and lists parsed, plain strings kept)."""
    raw: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        value = get(key)
        if value is None:
            continue
        try:
            raw[key] = json.loads(value)
        except ValueError:
            raw[key] = value
    return raw


def load(raw: dict[str, Any], home_region: str | None) -> Settings:
    """Validate the raw config (keys without the `opsflows:` prefix) into Settings, or raise SettingsError."""
    problems: list[str] = []
    top = _Reader("opsflows", raw, problems, separator=":")

    if not isinstance(home_region, str) or not REGION.match(home_region):
        problems.append(f"aws:region: got {home_region!r}; must be a region name such as us-west-2")
    role = top.raw.get("role")
    if role is None:
        problems.append("opsflows:role: missing; required, one of primary, dr")
    elif role not in ("primary", "dr"):
        problems.append(f"opsflows:role: got {role!r}; must be one of primary, dr")
    dr_region = top.string("drRegion", None, REGION, "a region name such as us-east-2")
    if role == "primary":
        if "drRegion" not in top.raw:
            problems.append("opsflows:drRegion: missing; required when opsflows:role is primary")
        elif dr_region is not None and dr_region == home_region:
            problems.append(f"opsflows:drRegion: got {dr_region!r}; must differ from aws:region ({home_region})")

    settings = Settings(
        role=role if role in ("primary", "dr") else "primary",
        home_region=home_region or "",
        dr_region=dr_region if role == "primary" else None,
        snapshots=_snapshots(raw.get("snapshots"), problems),
        credential_response=_credential_response(raw.get("credentialResponse"), problems),
        bucket_sync=_bucket_sync(raw.get("bucketSync"), problems),
        genomics=_genomics(raw.get("genomics"), problems),
        alert_emails=tuple(top.strings("alertEmails", [], re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
                                       "a list of email addresses")),
        log_retention_days=top.get("logRetentionDays", 30, lambda v: v in LOG_RETENTION_DAYS,
                                   "one of " + ", ".join(map(str, LOG_RETENTION_DAYS))),
        tags=top.get("tags", {}, lambda v: isinstance(v, dict) and all(
            isinstance(k, str) and isinstance(x, str) for k, x in v.items()), "an object of string tags"),
    )
    if problems:
        raise SettingsError(problems)
    return settings


def _snapshots(raw: Any, problems: list[str]) -> SnapshotSettings:
    r = _Reader("opsflows:snapshots", raw, problems)
    if raw is None or (isinstance(raw, dict) and "retain" not in raw):
        problems.append("opsflows:snapshots.retain: missing; required, an integer >= 1")
    r.unknown({"retain", "maxAgeDays", "dryRun", "kmsKeyId", "enabled", "copyDeadlineHours", "copyAttempts",
               "maxConcurrentCopies"})
    return SnapshotSettings(
        retain=r.integer("retain", 1),
        max_age_days=r.integer("maxAgeDays", None),
        dry_run=r.boolean("dryRun", False),
        kms_key_id=r.string("kmsKeyId", None, re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]+$"),
                            "a KMS key ARN in the DR region (IAM can scope only key ARNs)"),
        enabled=r.boolean("enabled", True),
        # A task may wait at most 99,999,999 s; an execution a year: the deadline fits both, in whole seconds.
        copy_deadline_hours=r.get("copyDeadlineHours", 24, lambda v: isinstance(v, (int, float)) and not
                                  isinstance(v, bool) and 1 / 3600 <= v <= 8760,
                                  "a number of hours > 0 (at least one second) and <= 8760"),
        copy_attempts=r.integer("copyAttempts", 3, 1, 10),
        max_concurrent_copies=r.integer("maxConcurrentCopies", 20, 1, 20),    # EBS: 20, not adjustable
    )


def _credential_response(raw: Any, problems: list[str]) -> CredentialResponseSettings:
    r = _Reader("opsflows:credentialResponse", raw, problems)
    r.unknown({"enabled", "region", "action", "quarantine", "revokeSessions", "lookbackHours", "maxEvents",
               "activityRegions"})
    region = r.string("region", "us-east-1", REGION, "a region name such as us-east-1")
    return CredentialResponseSettings(
        enabled=r.boolean("enabled", True),
        region=region,
        action=r.choice("action", "deactivate", ("deactivate", "delete")),
        quarantine=r.boolean("quarantine", False),
        revoke_sessions=r.boolean("revokeSessions", False),
        lookback_hours=r.integer("lookbackHours", 24, 1, 90 * 24),   # CloudTrail keeps 90 days
        max_events=r.integer("maxEvents", 1000, 1, 50_000),
        # CloudTrail lookups are regional; IAM and other global services record in us-east-1.
        activity_regions=tuple(dict.fromkeys(r.strings("activityRegions", [region], REGION,
                                                       "a list of region names such as us-east-1")) or [region]),
    )


def _bucket_sync(raw: Any, problems: list[str]) -> BucketSyncSettings:
    r = _Reader("opsflows:bucketSync", raw, problems)
    r.unknown({"enabled", "allowedBuckets", "multipartThresholdBytes", "partSizeBytes", "maxConcurrency",
               "pagesPerScan", "scansPerExecution", "batchObjects", "listingParallelism"})
    settings = BucketSyncSettings(
        enabled=r.boolean("enabled", True),
        allowed_buckets=tuple(r.strings("allowedBuckets", [], ALLOWED_BUCKET, "a list of S3 bucket names, or name "
                                        "prefixes of at least 3 characters ending in * (e.g. opsflows-drill-*)")),
        # S3 parts are 5 MiB to 5 GiB; CopyObject copies at most 5 GiB.
        multipart_threshold_bytes=r.integer("multipartThresholdBytes", 5 * 1024**3, 5 * 1024**2, 5 * 1024**3),
        part_size_bytes=r.integer("partSizeBytes", 512 * 1024**2, 5 * 1024**2, 5 * 1024**3),
        max_concurrency=r.integer("maxConcurrency", 40, 1, 10_000),      # Distributed Map allows 10,000
        pages_per_scan=r.integer("pagesPerScan", 1000, 1, 10_000),
        # 15 history events per Scan loop: at most ~15,000 of the 25,000 an execution may have.
        scans_per_execution=r.integer("scansPerExecution", 500, 1, 1000),
        # A batch must fit a 256 KiB child input; the copier also cuts batches by payload and bytes.
        batch_objects=r.integer("batchObjects", 1000, 1, 1000),
        # Each range is one Lambda listing both buckets (~10 LIST/s each at 0.1 s a LIST): 256 ranges stay under
        # S3's 5,500 requests/s of one prefix partition and well inside the default 1,000 Lambda concurrency.
        listing_parallelism=r.integer("listingParallelism", 32, 1, 256),
    )
    if len(set(settings.allowed_buckets)) != len(settings.allowed_buckets):
        r.fail("allowedBuckets", list(settings.allowed_buckets), "a list without duplicates")
    return settings


IMAGE_KEYS = (("isaac", "isaac"), ("strelka", "strelka"), ("snpeff", "snpeff"), ("samtools_stats", "samtoolsStats"))
IMAGE = re.compile(r"^\S+$")


def _genomics(raw: Any, problems: list[str]) -> GenomicsSettings:
    r = _Reader("opsflows:genomics", raw, problems)
    r.unknown({"enabled", "subnetIds", "securityGroupIds", "maxVcpus", "instanceTypes", "images",
               "resultsBucket", "inputBuckets", "onDemandFallback", "scratchVolumeGiB", "maxConcurrentSamples",
               "toleratedFailedSamplesPercent"})
    images = _Reader("opsflows:genomics.images", r.raw.get("images"), problems)
    images.unknown({key for _, key in IMAGE_KEYS})
    settings = GenomicsSettings(
        enabled=r.boolean("enabled", False),
        subnet_ids=tuple(r.strings("subnetIds", [], re.compile(r"^subnet-[0-9a-f]+$"), "a list of subnet ids")),
        security_group_ids=tuple(r.strings("securityGroupIds", [], re.compile(r"^sg-[0-9a-f]+$"),
                                           "a list of security group ids")),
        max_vcpus=r.integer("maxVcpus", 256, 32, 100_000),     # isaac and strelka jobs need 32 vCPUs
        instance_types=tuple(r.strings("instanceTypes", ["optimal"])),
        images=GenomicsImages(**{attr: images.string(key, None, IMAGE, "a container image URI without spaces")
                                 for attr, key in IMAGE_KEYS}),
        results_bucket=r.string("resultsBucket", None, BUCKET, "an S3 bucket name"),
        input_buckets=tuple(r.strings("inputBuckets", [], BUCKET, "a list of S3 bucket names")),
        on_demand_fallback=r.boolean("onDemandFallback", False),
        scratch_volume_gib=r.integer("scratchVolumeGiB", 500, 1, 16_384),
        # A Distributed Map runs at most 10,000 child executions at once.
        max_concurrent_samples=r.integer("maxConcurrentSamples", 10, 1, 10_000),
        tolerated_failed_samples_percent=r.get(
            "toleratedFailedSamplesPercent", 0, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
            and 0 <= v <= 100, "a number from 0 to 100 (percent of the input's samples)"),
    )
    if settings.enabled:
        r.required("subnetIds", settings.subnet_ids, "when genomics is enabled (Batch needs a VPC)")
        r.required("securityGroupIds", settings.security_group_ids, "when genomics is enabled")
        r.required("resultsBucket", settings.results_bucket, "when genomics is enabled")
        # No public images take the seed's tool arguments: each is built from the seed's tools/<tool>/docker.
        for attr, key in IMAGE_KEYS:
            images.required(key, getattr(settings.images, attr),
                            "when genomics is enabled: the container image URI of that tool (e.g. an ECR repository)")
    return settings
