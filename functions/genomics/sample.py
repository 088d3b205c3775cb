"""One sample (the seed's test.input.json shape), validated into a Sample.

Every problem of a sample is collected and reported at once, naming where it is (`samples[3].fastq1S3Path`,
`samplesheet row 7, column fastq_1`) and the field, before any job is submitted: a wrong path found after a
32-vCPU Isaac job has run costs hours. Where the sample's fields come from (the input itself, an entry of
`samples`, a samplesheet row) is sheet.py's business; a field a sample inherits from the input's shared fields
is reported once, under its own name, however many samples share it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from common.errors import InvalidInput

TOOLS = ("isaac", "strelka", "snpEff", "samtoolsStats")   # the seed's per-tool input objects, in pipeline order
TOOL_KEYS = {"cmdArgs", "jobDefinition", "jobQueue"}
ISAAC_KEYS = TOOL_KEYS | {"referenceS3Path", "memory"}
SAMPLE_KEYS = {"sampleId", "fastq1S3Path", "fastq2S3Path", "referenceS3Path", "resultsS3Path", "workingDir", *TOOLS}

# A sample id becomes part of Batch job names ("isaac-<id>": letters, digits, - and _, 128 at most),
# S3 keys and tag values.
SAMPLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")
MAX_KEY_BYTES = 1024      # S3's limit on an object key (UTF-8 bytes)
SCRATCH = "/scratch"      # where every job definition mounts the instance's scratch volume
MAX_PROBLEMS = 50         # problems listed in one error; the rest are counted


class InvalidSampleInput(InvalidInput):
    """The execution input cannot be run: it names every bad sample field (nothing was submitted)."""

    def __init__(self, problems: list[str], more: int = 0):
        self.problems = problems
        self.more = more
        text = "; ".join(problems)
        super().__init__(text + (f"; and {more} more problems" if more else ""))


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, value: str) -> "S3Uri":
        """s3://bucket[/key]; ValueError(reason) when it is not one, or when its key could not be written
        (`.`/`..` segments, which tools resolving paths would climb out of the results with; over 1,024 bytes)."""
        match = S3_URI.match(value)
        if not match or ".." in match["bucket"] or any(ch.isspace() or ord(ch) < 32 for ch in value):
            raise ValueError("must be an S3 URI s3://bucket/key")
        key = match["key"] or ""
        if any(part in (".", "..") for part in key.split("/")):
            raise ValueError("must not contain '.' or '..' path segments")
        if len(key.encode()) > MAX_KEY_BYTES:
            raise ValueError(f"its key is {len(key.encode())} bytes; S3 keys are at most {MAX_KEY_BYTES}")
        return cls(match["bucket"], key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"

    def prefix(self) -> str:
        """The key as a folder: '' for the bucket root, else ending in '/'."""
        return self.key.rstrip("/") + "/" if self.key.strip("/") else ""


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


class Problems:
    """The problems of one input, at most MAX_PROBLEMS kept (the rest counted); each names where it is."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.more = 0
        self._seen: set[str] = set()

    def add(self, text: str) -> None:
        if text in self._seen:           # a shared field's problem, met again through another sample
            return
        self._seen.add(text)
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(text)
        else:
            self.more += 1

    def __len__(self) -> int:
        return len(self.listed) + self.more

    def raise_if_any(self) -> None:
        if self.listed:
            raise InvalidSampleInput(self.listed, self.more)


@dataclass
class Where:
    """Where a sample's fields come from: `prefix` names the sample ("samples[3]." or "samplesheet row 7, "),
    `own` its own fields (None: all of them), `shared` the input's fields it inherits (None: every field not
    its own, as for a CSV row); a problem with an inherited field is the input's, named once without the
    prefix. `rename`: the column a field has in a samplesheet."""
    prefix: str = ""
    own: set[str] | None = None
    shared: set[str] | None = field(default_factory=set)
    rename: Callable[[str], str] | None = None

    def is_own(self, name: str) -> bool:
        top = name.split(".")[0]
        if not name or self.own is None or top in self.own:
            return True
        return self.shared is not None and top not in self.shared

    @property
    def name(self) -> str:
        """The sample's place, short: "input", "samples[3]", "row 7", "line 7"."""
        return self.prefix.removeprefix("samplesheet ").rstrip(". ,") or "input"


class _Reporter:
    def __init__(self, where: Where, problems: Problems, label: str):
        self.where, self.problems, self.label = where, problems, label

    def add(self, name: str, message: str) -> None:
        """`message` may hold "{label}" where the sample's id goes, for fields of the sample itself."""
        own = self.where.is_own(name)
        text = message.replace("{label}", self.label if own else "")
        if not name:
            place = self.where.prefix.rstrip(". ,") or "input"
        elif own:
            place = f"{self.where.prefix}{self.where.rename(name) if self.where.rename else name}"
        else:
            place = name
        self.problems.add(f"{place}: {text}")


def reporter(where: Where, problems: Problems, sample_id: Any) -> Callable[[str, str], None]:
    """`add(field, message)` for problems of the sample at `where` ("{label}" in a message: the sample's id)."""
    label = f" (sample {sample_id})" if isinstance(sample_id, str) and sample_id else ""
    return _Reporter(where, problems, label).add


def merge(shared: dict, item: dict) -> dict:
    """A sample's fields: the shared ones, its own winning (per-tool objects merged key by key)."""
    merged = {**shared, **item}
    for tool in TOOLS:
        if isinstance(shared.get(tool), dict) and isinstance(item.get(tool), dict):
            merged[tool] = {**shared[tool], **item[tool]}
    return merged


def check_sample(raw: Any, where: Where, problems: Problems, *, readable: set[str],
                 results_bucket: str) -> Sample | None:
    """The Sample `raw` describes, or None after adding its problems."""
    if not isinstance(raw, dict):
        _Reporter(where, problems, "").add("", f"expected a JSON object, got {raw!r}")
        return None
    sample_id = raw.get("sampleId")
    p = _Reporter(where, problems, f" (sample {sample_id})" if isinstance(sample_id, str) and sample_id else "")
    before = len(problems)
    for name in sorted(set(raw) - SAMPLE_KEYS):
        p.add(name, "unknown field; known fields are " + ", ".join(sorted(SAMPLE_KEYS)))

    if not isinstance(sample_id, str) or not SAMPLE_ID.match(sample_id):
        p.add("sampleId", f"got {sample_id!r}; must be 1-100 letters, digits, - or _ (it names the Batch jobs)")

    def uri(name: str, value: Any, *, obj: bool, buckets: set[str] | None, why: str = "") -> S3Uri | None:
        if value is None:
            p.add(name, "missing{label}; required, an S3 URI s3://bucket/key")
            return None
        try:
            if not isinstance(value, str):
                raise ValueError("must be an S3 URI s3://bucket/key")
            parsed = S3Uri.parse(value)
        except ValueError as exc:
            p.add(name, f"got {_short(value)}{{label}}; {exc}")
            return None
        if obj and (not parsed.key or parsed.key.endswith("/")):
            p.add(name, f"got {value!r}{{label}}; must name an S3 object, not a bucket or folder")
            return None
        if buckets is not None and parsed.bucket not in buckets:
            p.add(name, f"got {value!r}{{label}}; {why}")
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
        p.add("workingDir", f"got {_short(working_dir)}{{label}}; must be {SCRATCH} or below it (the scratch volume)")

    tools: dict[str, ToolInput] = {}
    for tool in TOOLS:
        value = raw.get(tool, {})
        if not isinstance(value, dict):
            p.add(tool, f"got {_short(value)}{{label}}; must be an object")
            continue
        known = ISAAC_KEYS if tool == "isaac" else TOOL_KEYS
        for name in sorted(set(value) - known):
            p.add(f"{tool}.{name}", "unknown field; known fields are " + ", ".join(sorted(known)))
        for name in sorted(TOOL_KEYS & set(value)):
            if not isinstance(value[name], str) or (name != "cmdArgs" and not value[name]):
                p.add(f"{tool}.{name}", f"got {_short(value[name])}{{label}}; must be a non-empty string")
        extra = {}
        if tool == "isaac":
            extra["referenceS3Path"] = uri("isaac.referenceS3Path", value.get("referenceS3Path"), obj=False,
                                           buckets=readable, why=cannot_read)
            if "memory" in value:
                memory = value["memory"]
                if isinstance(memory, str) and memory.isdigit():
                    memory = int(memory)
                if not isinstance(memory, int) or isinstance(memory, bool) or memory < 1:
                    p.add("isaac.memory", f"got {_short(value['memory'])}{{label}}; must be a positive integer (GB)")
                else:
                    extra["memory"] = memory
        tools[tool] = ToolInput(cmd_args=value.get("cmdArgs"), job_definition=value.get("jobDefinition"),
                                job_queue=value.get("jobQueue"), extra=extra)

    if len(problems) > before:
        return None
    return Sample(sample_id=sample_id, fastq1=fastq1, fastq2=fastq2, reference=reference, results=results,
                  working_dir=working_dir, tools=tools)


def _short(value: Any, limit: int = 120) -> str:
    """repr(value), cut to `limit` characters (an oversized field is named, not echoed whole)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
