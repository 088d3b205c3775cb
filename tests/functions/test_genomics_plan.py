"""The genomics plan handler: the seed's input validated and turned into four jobs per sample (no AWS calls)."""
from __future__ import annotations

import json

import pytest

from genomics.jobs import BatchResources
from genomics.plan import TooManySamples, handler, plan_samples
from genomics.sample import InvalidSampleInput

ARN = "arn:aws:batch:us-west-2:123456789012"
DEFINITIONS = {t: f"{ARN}:job-definition/genomics-{t.lower()}-1a2b3c4:3"
               for t in ("isaac", "strelka", "snpEff", "samtoolsStats")}
QUEUES = {"high": f"{ARN}:job-queue/genomics-high-5d6e7f8", "low": f"{ARN}:job-queue/genomics-low-9a0b1c2"}
BATCH = BatchResources(definitions=DEFINITIONS, queues=QUEUES)
RESULTS, INPUTS = "lab-results", "lab-inputs"


def seed_input(**changes) -> dict:
    """workflow/test.input.json from the seed, on this lab's buckets, without the seed's own queues/definitions."""
    event = {
        "fastq1S3Path": f"s3://{INPUTS}/fastq/SRR1919605_1.fastq.gz",
        "fastq2S3Path": f"s3://{INPUTS}/fastq/SRR1919605_2.fastq.gz",
        "referenceS3Path": f"s3://{INPUTS}/reference/hg38.fa",
        "resultsS3Path": f"s3://{RESULTS}/genomic-workflow/results",
        "sampleId": "NA12878_states_1",
        "workingDir": "/scratch",
        "isaac": {"referenceS3Path": f"s3://{INPUTS}/reference/isaac/"},
        "samtoolsStats": {},
        "strelka": {"cmdArgs": " --exome "},
        "snpEff": {"cmdArgs": " -t hg38 "},
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


def plan(event: dict) -> dict:
    return plan_samples(event, batch=BATCH, results_bucket=RESULTS, input_buckets={INPUTS})


def problems(event: dict) -> str:
    with pytest.raises(InvalidSampleInput) as raised:
        plan(event)
    return str(raised.value)


def test_seed_input_plans_the_seed_commands_on_the_stacks_queues():
    isaac = {"referenceS3Path": f"s3://{INPUTS}/reference/isaac/", "memory": "64"}
    (sample,) = plan(seed_input(isaac=isaac))["samples"]
    results = f"s3://{RESULTS}/genomic-workflow/results/NA12878_states_1"
    jobs = sample["jobs"]
    assert jobs["isaac"]["command"] == [
        "--bam_s3_folder_path", f"{results}/bam/",
        "--fastq1_s3_path", f"s3://{INPUTS}/fastq/SRR1919605_1.fastq.gz",
        "--fastq2_s3_path", f"s3://{INPUTS}/fastq/SRR1919605_2.fastq.gz",
        "--reference_s3_path", f"s3://{INPUTS}/reference/isaac/",
        "--working_dir", "/scratch", "--memory", "64"]
    assert jobs["strelka"]["command"] == [
        "--bam_s3_path", f"{results}/bam/sorted.bam", "--bai_s3_path", f"{results}/bam/sorted.bam.bai",
        "--reference_s3_path", f"s3://{INPUTS}/reference/hg38.fa",
        "--reference_index_s3_path", f"s3://{INPUTS}/reference/hg38.fa.fai",
        "--vcf_s3_path", f"{results}/vcf", "--working_dir", "/scratch", "--cmd_args", " --exome "]
    assert jobs["samtoolsStats"]["command"] == [
        "--bam_s3_path", f"{results}/bam/sorted.bam", "--reference_s3_path", f"s3://{INPUTS}/reference/hg38.fa",
        "--bam_stats_s3_path", f"{results}/stats/bam_stats.dat", "--working_dir", "/scratch"]
    assert {t: (j["name"], j["queue"], j["definition"]) for t, j in jobs.items()} == {
        "isaac": ("isaac-NA12878_states_1", QUEUES["high"], DEFINITIONS["isaac"]),
        "strelka": ("strelka-NA12878_states_1", QUEUES["high"], DEFINITIONS["strelka"]),
        "snpEff": ("snpEff-NA12878_states_1", QUEUES["low"], DEFINITIONS["snpEff"]),
        "samtoolsStats": ("samtoolsStats-NA12878_states_1", QUEUES["low"], DEFINITIONS["samtoolsStats"])}
    assert sample["outputs"]["annotatedVcf"] == f"{results}/annotated_vcf/output.annotated.vcf"


def test_trailing_slash_on_results_and_default_working_dir():
    (sample,) = plan(seed_input(resultsS3Path=f"s3://{RESULTS}/", workingDir=None))["samples"]
    assert sample["outputs"]["bam"] == f"s3://{RESULTS}/NA12878_states_1/bam/"
    assert sample["jobs"]["snpEff"]["command"][-3:-2] == ["/scratch"]


@pytest.mark.parametrize("requested, chosen", [
    ({"jobQueue": "genomics-low-9a0b1c2"}, ("queue", QUEUES["low"])),
    ({"jobQueue": QUEUES["low"]}, ("queue", QUEUES["low"])),
    ({"jobDefinition": "genomics-isaac-1a2b3c4:2"}, ("definition", f"{ARN}:job-definition/genomics-isaac-1a2b3c4:2")),
    ({"jobDefinition": f"{ARN}:job-definition/genomics-isaac-1a2b3c4"},
     ("definition", f"{ARN}:job-definition/genomics-isaac-1a2b3c4")),
])
def test_a_tool_may_pick_another_of_the_stacks_queues_or_definition_revisions(requested, chosen):
    isaac = {"referenceS3Path": f"s3://{INPUTS}/reference/isaac/", **requested}
    (sample,) = plan(seed_input(isaac=isaac))["samples"]
    assert sample["jobs"]["isaac"][chosen[0]] == chosen[1]


@pytest.mark.parametrize("requested, message", [
    ({"jobQueue": "arn:aws:batch:us-east-1:111122223333:job-queue/highPriority-myenv"},
     "isaac.jobQueue: got 'arn:aws:batch:us-east-1:111122223333:job-queue/highPriority-myenv'; must be one of"),
    ({"jobDefinition": "isaac-myenv:1"}, "isaac.jobDefinition: got 'isaac-myenv:1'; must be a revision of"),
    ({"jobDefinition": "genomics-strelka-1a2b3c4:3"}, "isaac.jobDefinition: got 'genomics-strelka-1a2b3c4:3'"),
    ({"jobDefinition": "genomics-isaac-1a2b3c4-evil"}, "isaac.jobDefinition: got 'genomics-isaac-1a2b3c4-evil'"),
])
def test_queues_and_definitions_not_the_stacks_are_refused(requested, message):
    assert message in problems(seed_input(isaac={"referenceS3Path": f"s3://{INPUTS}/reference/isaac/", **requested}))


@pytest.mark.parametrize("changes, message", [
    ({"fastq1S3Path": None}, "fastq1S3Path: missing (sample NA12878_states_1)"),
    ({"fastq2S3Path": "/data/reads_2.fastq.gz"}, "fastq2S3Path: got '/data/reads_2.fastq.gz'"),
    ({"fastq1S3Path": "s3://lab inputs/reads.fq"}, "must be an S3 URI"),
    ({"fastq1S3Path": f"s3://{INPUTS}/fastq/"}, "must name an S3 object, not a bucket or folder"),
    ({"referenceS3Path": "s3://public-genomes/hg38.fa"}, "the jobs cannot read that bucket"),
    ({"resultsS3Path": f"s3://{INPUTS}/results"}, "the jobs may write only to the results bucket s3://lab-results"),
    ({"sampleId": "NA 12878"}, "sampleId: got 'NA 12878'"),
    ({"sampleId": None}, "sampleId: got None"),
    ({"workingDir": "/tmp"}, "workingDir: got '/tmp'"),
    ({"workingDir": "/scratch/../etc"}, "workingDir: got '/scratch/../etc'"),
    ({"isaac": {}}, "isaac.referenceS3Path: missing"),
    ({"strelka": {"cmdArg": "--exome"}}, "strelka.cmdArg: unknown field"),
    ({"fastqS3Path": "s3://x/y"}, "fastqS3Path: unknown field"),
    ({"isaac": {"referenceS3Path": f"s3://{INPUTS}/reference/isaac/", "memory": "lots"}}, "isaac.memory: got 'lots'"),
    ({"snpEff": "-t hg38"}, "snpEff: got '-t hg38'"),
])
def test_malformed_sample_is_refused_with_the_field_named(changes, message):
    assert message in problems(seed_input(**changes))


def test_every_problem_of_every_sample_is_reported_at_once():
    shared = seed_input()
    del shared["sampleId"]
    with pytest.raises(InvalidSampleInput) as raised:
        plan({**shared, "samples": [{"sampleId": "A", "fastq1S3Path": "ftp://x"}, {"sampleId": "B"},
                                    {"sampleId": "B", "workingDir": "/"}]})
    assert raised.value.problems == [
        "samples[0].fastq1S3Path: got 'ftp://x' (sample A); must be an S3 URI s3://bucket/key",
        "samples[2].workingDir: got '/' (sample B); must be /scratch or below it (the scratch volume)",
        "sampleId: 'B' appears twice (their results would overwrite each other)",
    ]


def test_samples_share_top_level_fields_and_override_them():
    shared = seed_input()
    del shared["sampleId"]
    planned = plan({**shared, "samples": [{"sampleId": "A"}, {"sampleId": "B", "strelka": {"cmdArgs": ""},
                                                               "resultsS3Path": f"s3://{RESULTS}/rerun"}]})["samples"]
    assert [s["sampleId"] for s in planned] == ["A", "B"]
    assert planned[0]["jobs"]["strelka"]["command"][-1] == " --exome "
    assert planned[1]["jobs"]["strelka"]["command"][-2:] == ["--cmd_args", ""]
    assert planned[1]["outputs"]["vcf"] == f"s3://{RESULTS}/rerun/B/vcf"


@pytest.mark.parametrize("event, message", [
    ({"samples": []}, "samples: expected a non-empty list"),
    ({"samples": [seed_input(sampleId="A"), seed_input(sampleId="A")]}, "'A' appears twice"),
    ({"sampleId": "A", "samples": [seed_input(sampleId="B")]}, "sampleId: belongs in each entry of samples"),
    ({"samples": ["NA12878"]}, "samples[0]: expected a JSON object"),
])
def test_sample_lists_must_be_well_formed(event, message):
    assert message in problems(event)


def test_too_many_samples_for_one_execution_are_refused():
    many = {"samples": [seed_input(sampleId=f"S{i:04d}") for i in range(120)]}
    with pytest.raises(TooManySamples) as raised:
        plan(many)
    assert "start several executions" in str(raised.value)


def test_handler_reads_the_stacks_resources_from_its_environment(monkeypatch):
    monkeypatch.setenv("JOB_DEFINITIONS", json.dumps(DEFINITIONS))
    monkeypatch.setenv("JOB_QUEUES", json.dumps(QUEUES))
    monkeypatch.setenv("RESULTS_BUCKET", RESULTS)
    monkeypatch.setenv("INPUT_BUCKETS", f"other-bucket,{INPUTS}")
    (sample,) = handler(seed_input(), None)["samples"]
    assert sample["jobs"]["isaac"]["definition"] == DEFINITIONS["isaac"]
    with pytest.raises(InvalidSampleInput):
        handler(seed_input(fastq1S3Path=None), None)
