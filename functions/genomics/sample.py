"""The execution input (the seed's test.input.json shape, or `samples: [...]` of it), validated into Samples.

Every problem in the input is collected and reported at once, naming the sample and the field, before
any job is submitted: a missing path found after a 32-vCPU Isaac job has run costs hours.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common.errors import InvalidInput

TOOLS = ("isaac", "strelka", "snpEff", "samtoolsStats")   # the seed's per-tool input objects, in pipeline order
TOOL_KEYS = {"cmdArgs", "jobDefinition", "jobQueue"}
ISAAC_KEYS = TOOL_KEYS | {"referenceS3Path", "memory"}
SAMPLE_KEYS = {"sampleId", "fastq1S3Path", "fastq2S3Path", "referenceS3Path", "resultsS3Path", "workingDir", *TOOLS}

# A sample id becomes part of Batch job names ("isaac-<id>": letters, digits, - and _, 128 at most),
# S3 keys and tag values.
SAMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")
SCRATCH = "/scratch"      # where every job definition mounts the instance's scratch volume


class InvalidSampleInput(InvalidInput):
    """The execution input cannot be run: it names every bad sample field (nothing was submitted)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, value: str) -> "S3Uri":
        match = S3_URI.match(value)
        if not match or ".." in match["bucket"] or any(ch.isspace() for ch in value):
            raise ValueError(value)
        return cls(match["bucket"], match["key"] or "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"


@dataclass(frozen=True)
class ToolInput:
    cmd_args: str | None = None
    job_definition: str | None = None
    job_queue: str | None = None
    extra: dict = field(default_factory=dict)      # isaac: referenceS3Path, memory


@dataclass(frozen=True)
class Sample:
    sample_id: str
    fastq1: S3Uri
    fastq2: S3Uri
    reference: S3Uri
    results: S3Uri
    working_dir: str
    tools: dict[str, ToolInput]

    @property
    def isaac_reference(self) -> S3Uri:
        return self.tools["isaac"].extra["referenceS3Path"]


class _Problems:
    def __init__(self, where: str, problems: list[str]):
        self.where, self.problems = where, problems

    def add(self, name: str, message: str) -> None:
        field_name = f"{self.where}{name}" if name else (self.where.rstrip(".") or "input")
        self.problems.append(f"{field_name}: {message}")


def parse_input(event: Any, *, readable_buckets: set[str], results_bucket: str) -> list[Sample]:
    """Samples from one execution input, or InvalidSampleInput naming every problem.

    `samples: [...]` runs many samples; any other top-level field is a default for each of them (a sample's own
    fields win; per-tool objects are merged key by key). Without `samples` the input itself is the one sample.
    """
    problems: list[str] = []
    if not isinstance(event, dict):
        raise InvalidSampleInput([f"input: expected a JSON object, got {type(event).__name__}"])
    if "samples" in event:
        items = event["samples"]
        shared = {k: v for k, v in event.items() if k != "samples"}
        if not isinstance(items, list) or not items:
            raise InvalidSampleInput([f"samples: expected a non-empty list, got {items!r}"])
        if "sampleId" in shared:
            problems.append("sampleId: belongs in each entry of samples, not at the top level")
        raw = [_merge(shared, item) if isinstance(item, dict) else item for item in items]
        wheres = [f"samples[{i}]." for i in range(len(raw))]
    else:
        raw, wheres = [event], [""]

    samples = []
    for item, where in zip(raw, wheres):
        sample = _sample(item, _Problems(where, problems), readable_buckets, results_bucket)
        if sample is not None:
            samples.append(sample)
    ids = Counter(item.get("sampleId") for item in raw
                  if isinstance(item, dict) and isinstance(item.get("sampleId"), str))
    for twice in sorted(i for i, n in ids.items() if n > 1):
        problems.append(f"sampleId: {twice!r} appears twice (their results would overwrite each other)")
    if problems:
        raise InvalidSampleInput(problems)
    return samples


def _merge(shared: dict, item: dict) -> dict:
    merged = {**shared, **item}
    for tool in TOOLS:
        if isinstance(shared.get(tool), dict) and isinstance(item.get(tool), dict):
            merged[tool] = {**shared[tool], **item[tool]}
    return merged


def _sample(raw: Any, p: _Problems, readable: set[str], results_bucket: str) -> Sample | None:
    if not isinstance(raw, dict):
        p.add("", f"expected a JSON object, got {raw!r}")
        return None
    before = len(p.problems)
    for name in sorted(set(raw) - SAMPLE_KEYS):
        p.add(name, "unknown field; known fields are " + ", ".join(sorted(SAMPLE_KEYS)))

    sample_id = raw.get("sampleId")
    if not isinstance(sample_id, str) or not SAMPLE_ID.match(sample_id):
        p.add("sampleId", f"got {sample_id!r}; must be 1-100 letters, digits, - or _ (it names the Batch jobs)")
    label = f" (sample {sample_id})" if isinstance(sample_id, str) else ""

    def uri(name: str, value: Any, *, obj: bool, buckets: set[str] | None, why: str = "") -> S3Uri | None:
        if value is None:
            p.add(name, f"missing{label}; required, an S3 URI s3://bucket/key")
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            parsed = S3Uri.parse(value)
        except ValueError:
            p.add(name, f"got {value!r}{label}; must be an S3 URI s3://bucket/key")
            return None
        if obj and (not parsed.key or parsed.key.endswith("/")):
            p.add(name, f"got {value!r}{label}; must name an S3 object, not a bucket or folder")
            return None
        if buckets is not None and parsed.bucket not in buckets:
            p.add(name, f"got {value!r}{label}; {why}")
            return None
        return parsed

    cannot_read = ("the jobs cannot read that bucket: add it to opsflows:genomics.inputBuckets "
                   f"(readable: {', '.join(sorted(readable))})")
    fastq1 = uri("fastq1S3Path", raw.get("fastq1S3Path"), obj=True, buckets=readable, why=cannot_read)
    fastq2 = uri("fastq2S3Path", raw.get("fastq2S3Path"), obj=True, buckets=readable, why=cannot_read)
    reference = uri("referenceS3Path", raw.get("referenceS3Path"), obj=True, buckets=readable, why=cannot_read)
    results = uri("resultsS3Path", raw.get("resultsS3Path"), obj=False, buckets={results_bucket},
                  why=f"the jobs may write only to the results bucket s3://{results_bucket}")

    working_dir = raw.get("workingDir", SCRATCH)
    if not isinstance(working_dir, str) or not (working_dir == SCRATCH or working_dir.startswith(SCRATCH + "/")) \
            or ".." in working_dir.split("/"):
        p.add("workingDir", f"got {working_dir!r}{label}; must be {SCRATCH} or below it (the scratch volume)")

    tools: dict[str, ToolInput] = {}
    for tool in TOOLS:
        value = raw.get(tool, {})
        if not isinstance(value, dict):
            p.add(tool, f"got {value!r}{label}; must be an object")
            continue
        known = ISAAC_KEYS if tool == "isaac" else TOOL_KEYS
        for name in sorted(set(value) - known):
            p.add(f"{tool}.{name}", "unknown field; known fields are " + ", ".join(sorted(known)))
        for name in sorted(TOOL_KEYS & set(value)):
            if not isinstance(value[name], str) or (name != "cmdArgs" and not value[name]):
                p.add(f"{tool}.{name}", f"got {value[name]!r}{label}; must be a non-empty string")
        extra = {}
        if tool == "isaac":
            extra["referenceS3Path"] = uri("isaac.referenceS3Path", value.get("referenceS3Path"), obj=False,
                                           buckets=readable, why=cannot_read)
            if "memory" in value:
                memory = value["memory"]
                if isinstance(memory, str) and memory.isdigit():
                    memory = int(memory)
                if not isinstance(memory, int) or isinstance(memory, bool) or memory < 1:
                    p.add("isaac.memory", f"got {value['memory']!r}{label}; must be a positive integer (GB)")
                else:
                    extra["memory"] = memory
        tools[tool] = ToolInput(cmd_args=value.get("cmdArgs"), job_definition=value.get("jobDefinition"),
                                job_queue=value.get("jobQueue"), extra=extra)

    if len(p.problems) > before:
        return None
    return Sample(sample_id=sample_id, fastq1=fastq1, fastq2=fastq2, reference=reference, results=results,
                  working_dir=working_dir, tools=tools)
