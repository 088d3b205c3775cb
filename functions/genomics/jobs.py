"""Each sample's four Batch jobs: the seed's per-tool commands, on this stack's own queues and job definitions."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Callable

from .sample import MAX_KEY_BYTES, TOOLS, S3Uri, Sample

# The seed's queue for each tool: alignment and variant calling high, annotation and QC low.
DEFAULT_QUEUES = {"isaac": "high", "strelka": "high", "snpEff": "low", "samtoolsStats": "low"}
# ECS (which runs Batch jobs) allows 8,192 characters of container overrides, JSON included; Step Functions adds
# an environment variable to them, so a command may take a little less.
MAX_COMMAND_CHARS = 8000
# Done markers live under <resultsS3Path>/_opsflows/done/<sampleId>/<fingerprint>.json (resume reads them).
DONE_FOLDER = "_opsflows/done"


@dataclass(frozen=True)
class BatchResources:
    """This stack's job definitions (tool -> ARN with revision) and job queues (priority -> ARN)."""
    definitions: dict[str, str]
    queues: dict[str, str]

    def definition(self, tool: str, requested: str | None) -> str:
        """The job definition for a tool: ours by default; an override (name, name:revision or ARN, as
        SubmitJob takes it) must be a revision of ours, which is all the workflow may submit."""
        ours = self.definitions[tool]                         # arn:...:job-definition/<name>:<revision>
        if requested is None:
            return ours
        prefix = ours.rsplit(":", 1)[0]
        arn_base, name = prefix.split("/", 1)
        candidate = requested if requested.startswith("arn:") else f"{arn_base}/{requested}"
        rest = candidate[len(prefix):]
        if candidate.startswith(prefix) and (rest == "" or (rest[:1] == ":" and rest[1:].isdigit())):
            return candidate
        raise ValueError(f"{tool}.jobDefinition: got {requested!r}; must be a revision of this stack's {tool} "
                         f"job definition {name!r}")

    def queue(self, tool: str, requested: str | None) -> str:
        """The job queue for a tool: the seed's priority by default; an override must be one of our queues."""
        if requested is None:
            return self.queues[DEFAULT_QUEUES[tool]]
        for arn in self.queues.values():
            if requested in (arn, arn.rsplit("/", 1)[1]):
                return arn
        names = ", ".join(sorted(arn.rsplit("/", 1)[1] for arn in self.queues.values()))
        raise ValueError(f"{tool}.jobQueue: got {requested!r}; must be one of this stack's job queues ({names})")


def _join(results: S3Uri, *parts: str) -> str:
    return "/".join([str(results).rstrip("/"), *parts])


def commands(sample: Sample) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(tool -> container command, output name -> S3 path), exactly as the seed's per-tool Lambdas built them."""
    bam = _join(sample.results, sample.sample_id, "bam/")
    vcf = _join(sample.results, sample.sample_id, "vcf")
    annotated = _join(sample.results, sample.sample_id, "annotated_vcf", "output.annotated.vcf")
    stats = _join(sample.results, sample.sample_id, "stats", "bam_stats.dat")
    reference = str(sample.reference)
    isaac = sample.tools["isaac"]
    built = {
        "isaac": ["--bam_s3_folder_path", bam,
                  "--fastq1_s3_path", str(sample.fastq1),
                  "--fastq2_s3_path", str(sample.fastq2),
                  "--reference_s3_path", str(sample.isaac_reference),
                  "--working_dir", sample.working_dir],
        "strelka": ["--bam_s3_path", bam + "sorted.bam",
                    "--bai_s3_path", bam + "sorted.bam.bai",
                    "--reference_s3_path", reference,
                    "--reference_index_s3_path", reference + ".fai",
                    "--vcf_s3_path", vcf,
                    "--working_dir", sample.working_dir],
        "snpEff": ["--vcf_s3_path", vcf + "/variants/variants.vcf.gz",
                   "--annotated_vcf_s3_path", annotated,
                   "--working_dir", sample.working_dir],
        "samtoolsStats": ["--bam_s3_path", bam + "sorted.bam",
                          "--reference_s3_path", reference,
                          "--bam_stats_s3_path", stats,
                          "--working_dir", sample.working_dir],
    }
    for tool in TOOLS:
        if sample.tools[tool].cmd_args is not None:
            built[tool] += ["--cmd_args", sample.tools[tool].cmd_args]
    if "memory" in isaac.extra:
        built["isaac"] += ["--memory", str(isaac.extra["memory"])]
    return built, {"bam": bam, "vcf": vcf, "annotatedVcf": annotated, "bamStats": stats}


def plan(sample: Sample, batch: BatchResources, add: Callable[[str, str], None]) -> dict | None:
    """What the state machine submits for one sample: per tool the job name, queue, definition and command; the
    outputs; where its done marker goes and the fingerprint that marker records (resume). A problem (a
    jobQueue/jobDefinition not this stack's, a command or key too long for Batch or S3) is given to
    `add(field, message)` and the sample gets no plan."""
    built, outputs = commands(sample)
    jobs, ok = {}, True
    for tool in TOOLS:
        chosen = sample.tools[tool]
        try:
            queue, definition = batch.queue(tool, chosen.job_queue), batch.definition(tool, chosen.job_definition)
        except ValueError as exc:
            field_name, _, message = str(exc).partition(": ")
            add(field_name, message)
            ok = False
            continue
        size = len(json.dumps({"command": built[tool]}))
        if size > MAX_COMMAND_CHARS:
            add(tool, f"its command would be {size} characters of JSON{{label}}; a Batch job's container overrides "
                      f"hold at most {MAX_COMMAND_CHARS} (shorten cmdArgs or the paths)")
            ok = False
            continue
        jobs[tool] = {"name": f"{tool}-{sample.sample_id}", "queue": queue, "definition": definition,
                      "command": built[tool]}
    longest = max(len(path.split("/", 3)[3].encode()) for path in outputs.values())
    if longest > MAX_KEY_BYTES:
        add("resultsS3Path", f"got {str(sample.results)!r}{{label}}; the outputs' keys would be {longest} bytes, "
                             f"S3 keys are at most {MAX_KEY_BYTES}")
        ok = False
    if not ok:
        return None
    fingerprint = hashlib.sha256(json.dumps({t: [j["definition"], j["command"]] for t, j in jobs.items()},
                                            sort_keys=True).encode()).hexdigest()[:20]
    return {"sampleId": sample.sample_id, "outputs": outputs, "jobs": jobs, "fingerprint": fingerprint,
            "done": {"bucket": sample.results.bucket, "key": done_marker(sample.results, sample.sample_id, fingerprint)}}


def done_prefix(results: S3Uri) -> str:
    """Where the done markers of samples written under `results` are (one listing finds them all)."""
    return f"{results.prefix()}{DONE_FOLDER}/"


def done_marker(results: S3Uri, sample_id: str, fingerprint: str) -> str:
    """The key the pipeline writes once all four jobs of a sample SUCCEEDED with this exact plan."""
    return f"{done_prefix(results)}{sample_id}/{fingerprint}.json"
