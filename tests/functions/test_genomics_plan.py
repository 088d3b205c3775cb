"""The genomics plan handler against moto S3: every input form (one sample, `samples`, CSV and JSON Lines
samplesheets) validated and planned into the state bucket; every problem named where it is; nothing written
when anything is wrong; resume decided by the done markers."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from genomics.jobs import BatchResources
from genomics.plan import handler, plan_run
from genomics.sample import InvalidSampleInput
from localcloud import patches

REGION = "us-west-2"
ARN = "arn:aws:batch:us-west-2:123456789012"
DEFINITIONS = {t: f"{ARN}:job-definition/genomics-{t.lower()}-1a2b3c4:3"
               for t in ("isaac", "strelka", "snpEff", "samtoolsStats")}
QUEUES = {"high": f"{ARN}:job-queue/genomics-high-5d6e7f8", "low": f"{ARN}:job-queue/genomics-low-9a0b1c2"}
BATCH = BatchResources(definitions=DEFINITIONS, queues=QUEUES)
RESULTS, INPUTS, STATE = "lab-results", "lab-inputs", "lab-state"
HEADER = "sample,fastq_1,fastq_2"


@pytest.fixture(scope="module")
def buckets():
    """One mocked S3 for the module (starting moto is most of a test's time); each test empties it after."""
    patches.apply_all()
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        for bucket in (RESULTS, INPUTS, STATE, "elsewhere"):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


@pytest.fixture(autouse=True)
def s3(buckets, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    yield buckets
    for bucket in (RESULTS, INPUTS, STATE, "elsewhere"):
        for page in buckets.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                buckets.delete_object(Bucket=bucket, Key=o["Key"])


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


def shared(**changes) -> dict:
    event = seed_input(**changes)
    for name in ("sampleId", "fastq1S3Path", "fastq2S3Path"):
        event.pop(name, None)
    return event


def run(event: dict, execution: str = "exec-1") -> dict:
    return plan_run(event, execution, batch=BATCH, results_bucket=RESULTS, input_buckets={INPUTS},
                    state_bucket=STATE)


def plan(event: dict) -> list[dict]:
    """The samples' plans the Map will read (the JSON array in the state bucket)."""
    s3 = boto3.client("s3", region_name=REGION)
    return json.loads(s3.get_object(Bucket=STATE, Key=run(event)["plan"]["key"])["Body"].read())


def problems(event: dict) -> str:
    with pytest.raises(InvalidSampleInput) as raised:
        run(event)
    assert "Contents" not in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=STATE)   # nothing written
    return str(raised.value)


def sheet(s3, text: str, key: str = "sheets/cohort.csv", bucket: str = INPUTS) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode() if isinstance(text, str) else text)
    return f"s3://{bucket}/{key}"


def reads(sample: str) -> str:
    return f"s3://{INPUTS}/fq/{sample}_1.fq.gz,s3://{INPUTS}/fq/{sample}_2.fq.gz"


# --- one sample and `samples`: the seed's input shapes, unchanged -------------------------------------------

def test_seed_input_plans_the_seed_commands_on_the_stacks_queues():
    isaac = {"referenceS3Path": f"s3://{INPUTS}/reference/isaac/", "memory": "64"}
    (sample,) = plan(seed_input(isaac=isaac))
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
    assert sample["done"] == {"bucket": RESULTS, "key": "genomic-workflow/results/_opsflows/done/NA12878_states_1/"
                                                        f"{sample['fingerprint']}.json"}
    assert (sample["index"], sample["source"]) == (0, "input")


def test_trailing_slash_on_results_and_default_working_dir():
    (sample,) = plan(seed_input(resultsS3Path=f"s3://{RESULTS}/", workingDir=None))
    assert sample["outputs"]["bam"] == f"s3://{RESULTS}/NA12878_states_1/bam/"
    assert sample["jobs"]["snpEff"]["command"][-3:-2] == ["/scratch"]
    assert sample["done"]["key"].startswith("_opsflows/done/NA12878_states_1/")


@pytest.mark.parametrize("requested, chosen", [
    ({"jobQueue": "genomics-low-9a0b1c2"}, ("queue", QUEUES["low"])),
    ({"jobQueue": QUEUES["low"]}, ("queue", QUEUES["low"])),
    ({"jobDefinition": "genomics-isaac-1a2b3c4:2"}, ("definition", f"{ARN}:job-definition/genomics-isaac-1a2b3c4:2")),
    ({"jobDefinition": f"{ARN}:job-definition/genomics-isaac-1a2b3c4"},
     ("definition", f"{ARN}:job-definition/genomics-isaac-1a2b3c4")),
])
def test_a_tool_may_pick_another_of_the_stacks_queues_or_definition_revisions(requested, chosen):
    isaac = {"referenceS3Path": f"s3://{INPUTS}/reference/isaac/", **requested}
    (sample,) = plan(seed_input(isaac=isaac))
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
    ({"fastq1S3Path": f"s3://{INPUTS}/../{RESULTS}/x.fq"}, "must not contain '.' or '..' path segments"),
    ({"resultsS3Path": f"s3://{RESULTS}/a/../../b"}, "resultsS3Path: got 's3://lab-results/a/../../b'"),
    ({"fastq1S3Path": f"s3://{INPUTS}/{'k' * 1025}"}, "its key is 1025 bytes; S3 keys are at most 1024"),
    ({"resultsS3Path": f"s3://{RESULTS}/{'r' * 990}"}, "the outputs' keys would be"),
    ({"referenceS3Path": "s3://public-genomes/hg38.fa"}, "the jobs cannot read that bucket"),
    ({"resultsS3Path": f"s3://{INPUTS}/results"}, "the jobs may write only to the results bucket s3://lab-results"),
    ({"sampleId": "NA 12878"}, "sampleId: got 'NA 12878'"),
    ({"sampleId": "NA12878-ü"}, "sampleId: got 'NA12878-ü'; must be 1-100 letters, digits, - or _"),
    ({"sampleId": ""}, "sampleId: got ''"),
    ({"sampleId": 12878}, "sampleId: got 12878"),
    ({"sampleId": None}, "sampleId: got None"),
    ({"workingDir": "/tmp"}, "workingDir: got '/tmp'"),
    ({"workingDir": "/scratch/../etc"}, "workingDir: got '/scratch/../etc'"),
    ({"isaac": {}}, "isaac.referenceS3Path: missing"),
    ({"strelka": {"cmdArg": "--exome"}}, "strelka.cmdArg: unknown field"),
    ({"strelka": {"cmdArgs": "x" * 9000}}, "strelka: its command would be"),
    ({"fastqS3Path": "s3://x/y"}, "fastqS3Path: unknown field"),
    ({"isaac": {"referenceS3Path": f"s3://{INPUTS}/reference/isaac/", "memory": "lots"}}, "isaac.memory: got 'lots'"),
    ({"snpEff": "-t hg38"}, "snpEff: got '-t hg38'"),
    ({"resume": "yes"}, "resume: got 'yes'; must be true or false"),
])
def test_malformed_sample_is_refused_with_the_field_named(changes, message):
    assert message in problems(seed_input(**changes))


def test_an_oversized_field_is_named_not_echoed():
    text = problems(seed_input(workingDir="/" + "w" * 100_000))
    assert "workingDir: got '/www" in text and "(100003 characters)" in text and len(text) < 500


def test_every_problem_of_every_sample_is_reported_at_once():
    with pytest.raises(InvalidSampleInput) as raised:
        run({**shared(), "samples": [{"sampleId": "A", "fastq1S3Path": "ftp://x"}, {"sampleId": "B"},
                                     {"sampleId": "B", "workingDir": "/"}]})
    assert raised.value.problems == [
        "samples[0].fastq1S3Path: got 'ftp://x' (sample A); must be an S3 URI s3://bucket/key",
        "samples[0].fastq2S3Path: missing (sample A); required, an S3 URI s3://bucket/key",
        "samples[1].fastq1S3Path: missing (sample B); required, an S3 URI s3://bucket/key",
        "samples[1].fastq2S3Path: missing (sample B); required, an S3 URI s3://bucket/key",
        "samples[2].fastq1S3Path: missing (sample B); required, an S3 URI s3://bucket/key",
        "samples[2].fastq2S3Path: missing (sample B); required, an S3 URI s3://bucket/key",
        "samples[2].workingDir: got '/' (sample B); must be /scratch or below it (the scratch volume)",
        "sampleId: 'B' appears twice (their results would overwrite each other)",
    ]


def test_a_shared_field_is_named_once_however_many_samples_share_it():
    samples = [{"sampleId": f"S{i}", "fastq1S3Path": f"s3://{INPUTS}/{i}_1.fq", "fastq2S3Path": f"s3://{INPUTS}/{i}_2.fq"}
               for i in range(40)]
    with pytest.raises(InvalidSampleInput) as raised:
        run({**shared(referenceS3Path="s3://public-genomes/hg38.fa"), "samples": samples})
    assert raised.value.problems == [
        "referenceS3Path: got 's3://public-genomes/hg38.fa'; the jobs cannot read that bucket: add it to "
        "opsflows:genomics.inputBuckets (readable: lab-inputs, lab-results)"]


def test_at_most_fifty_problems_are_listed_and_the_rest_counted():
    with pytest.raises(InvalidSampleInput) as raised:
        run({**shared(), "samples": [{"sampleId": f"S{i}", "fastq1S3Path": "x", "fastq2S3Path": "y"}
                                     for i in range(40)]})
    assert len(raised.value.problems) == 50 and raised.value.more == 30
    assert str(raised.value).endswith("; and 30 more problems")


def test_samples_share_top_level_fields_and_override_them():
    planned = plan({**shared(), "samples": [
        {"sampleId": "A", "fastq1S3Path": f"s3://{INPUTS}/a1.fq", "fastq2S3Path": f"s3://{INPUTS}/a2.fq"},
        {"sampleId": "B", "fastq1S3Path": f"s3://{INPUTS}/b1.fq", "fastq2S3Path": f"s3://{INPUTS}/b2.fq",
         "strelka": {"cmdArgs": ""}, "resultsS3Path": f"s3://{RESULTS}/rerun"}]})
    assert [(s["sampleId"], s["source"]) for s in planned] == [("A", "samples[0]"), ("B", "samples[1]")]
    assert planned[0]["jobs"]["strelka"]["command"][-1] == " --exome "
    assert planned[1]["jobs"]["strelka"]["command"][-2:] == ["--cmd_args", ""]
    assert planned[1]["outputs"]["vcf"] == f"s3://{RESULTS}/rerun/B/vcf"


@pytest.mark.parametrize("event, message", [
    ({"samples": []}, "samples: expected a non-empty list"),
    ({"samples": "S1,S2"}, "samples: expected a non-empty list, got 'S1,S2'"),
    ({"samples": [seed_input(sampleId="A"), seed_input(sampleId="A")]}, "'A' appears twice"),
    ({"sampleId": "A", "samples": [seed_input(sampleId="B")]}, "sampleId: belongs in each entry of samples"),
    ({"samples": ["NA12878"]}, "samples[0]: expected a JSON object"),
    ({"samples": [seed_input()], "samplesheet": f"s3://{INPUTS}/s.csv"}, "samples, samplesheet: give one of them"),
    (["NA12878"], "input: expected a JSON object, got list"),
])
def test_sample_lists_must_be_well_formed(event, message):
    assert message in problems(event)


def test_a_list_of_hundreds_of_samples_is_planned_in_s3_not_in_the_state():
    samples = [{"sampleId": f"S{i:04d}", "fastq1S3Path": f"s3://{INPUTS}/{i}_1.fq",
                "fastq2S3Path": f"s3://{INPUTS}/{i}_2.fq"} for i in range(500)]
    result = run({**shared(), "samples": samples})
    assert result["counts"] == {"samples": 500, "toRun": 500, "skipped": 0}
    assert len(json.dumps(result)) < 2000                              # what travels in the execution's state
    assert len(plan({**shared(), "samples": samples})) == 500


# --- samplesheets -----------------------------------------------------------------------------------------

def test_an_nf_core_csv_samplesheet_with_extra_columns_bom_crlf_and_spaces(s3):
    text = "\ufeff" + "sample,fastq_1,fastq_2,strandedness\r\n" + "".join(
        f" S{i} , {reads(f'S{i}').replace(',', ' , ')} ,auto\r\n" for i in range(3)) + "\r\n"
    planned = plan({"samplesheet": sheet(s3, text), **shared()})
    assert [(s["sampleId"], s["source"], s["jobs"]["isaac"]["command"][3]) for s in planned] == [
        (f"S{i}", f"row {i + 2}", f"s3://{INPUTS}/fq/S{i}_1.fq.gz") for i in range(3)]


def test_a_json_lines_samplesheet_with_per_sample_fields(s3):
    lines = [{"sampleId": "J1", "fastq1S3Path": f"s3://{INPUTS}/j1_1.fq", "fastq2S3Path": f"s3://{INPUTS}/j1_2.fq"},
             {"sampleId": "J2", "fastq1S3Path": f"s3://{INPUTS}/j2_1.fq", "fastq2S3Path": f"s3://{INPUTS}/j2_2.fq",
              "snpEff": {"cmdArgs": " -t GRCh37 "}}]
    uri = sheet(s3, "\n".join(json.dumps(line) for line in lines) + "\n\n", key="sheets/cohort.jsonl")
    planned = plan({"samplesheet": uri, **shared()})
    assert [(s["sampleId"], s["source"]) for s in planned] == [("J1", "line 1"), ("J2", "line 2")]
    assert planned[1]["jobs"]["snpEff"]["command"][-1] == " -t GRCh37 "


@pytest.mark.parametrize("text, message", [
    ("sample,fastq_1\nA,s3://lab-inputs/a1.fq\n", "samplesheet row 1: missing column fastq_2 (the header has "
                                                  "'sample', 'fastq_1'"),
    ("sample,fastq1,fastq_2\n", "samplesheet row 1: missing column fastq_1 (the header has 'sample', 'fastq1'"),
    ("sample,fastq_1,fastq_2,sample\n", "samplesheet row 1: column sample appears twice"),
    (f"{HEADER}\nA,{reads('A')}\n,{reads('B')}\n", "samplesheet row 3, column sample: got ''; must be 1-100"),
    (f"{HEADER}\nA,{reads('A')}\nB,{reads('B')}\nA,{reads('C')}\n",
     "samplesheet column sample: 'A' appears 2 times (row 2, row 4); their results would overwrite each other"),
    (f"{HEADER}\nNA12878-ü,{reads('A')}\n", "samplesheet row 2, column sample: got 'NA12878-ü'"),
    (f"{HEADER}\nA,https://x.org/a1.fq,s3://lab-inputs/a2.fq\n",
     "samplesheet row 2, column fastq_1: got 'https://x.org/a1.fq' (sample A); must be an S3 URI"),
    (f"{HEADER}\nA,s3://lab-inputs/a1.fq,s3://elsewhere/a2.fq\n",
     "samplesheet row 2, column fastq_2: got 's3://elsewhere/a2.fq' (sample A); the jobs cannot read that bucket"),
    (f"{HEADER}\nA,s3://lab-inputs/../a1.fq,s3://lab-inputs/a2.fq\n",
     "samplesheet row 2, column fastq_1: got 's3://lab-inputs/../a1.fq' (sample A); must not contain '.' or '..'"),
    (f"{HEADER}\nA,s3://lab-inputs/a1.fq,\n", "samplesheet row 2, column fastq_2: got '' (sample A)"),
    (f"{HEADER}\nA,s3://lab-inputs/a1.fq\n", "samplesheet row 2, column fastq_2: missing (sample A)"),
    (f"{HEADER}\nA,{reads('A')},extra\n", "samplesheet row 2: has 4 cells, the header has 3 columns"),
    (f"{HEADER}\n\n", "has a header but no samples"),
    ("", "is empty; expected a header row sample,fastq_1,fastq_2"),
    (b"sample,fastq_1,fastq_2\nA,s3://lab-inputs/\xff.fq,s3://lab-inputs/a2.fq\n", "not UTF-8 text"),
])
def test_an_invalid_csv_samplesheet_is_refused_naming_row_and_column(s3, text, message):
    assert message in problems({"samplesheet": sheet(s3, text), **shared()})


@pytest.mark.parametrize("text, message", [
    ('{"sampleId": "A", "fastq1": "s3://lab-inputs/a1.fq"}\n', "samplesheet line 1, fastq1: unknown field"),
    ('{"sampleId": "A",\n', "samplesheet line 1: not JSON"),
    ('["A", "s3://lab-inputs/a1.fq"]\n', "samplesheet line 1: expected a JSON object, got ['A'"),
    ("\n\n", "is empty; expected one JSON object a line"),
])
def test_an_invalid_jsonl_samplesheet_is_refused_naming_the_line(s3, text, message):
    assert message in problems({"samplesheet": sheet(s3, text, key="sheets/c.jsonl"), **shared()})


@pytest.mark.parametrize("value, message", [
    (f"s3://{INPUTS}/sheets/missing.csv", "samplesheet: s3://lab-inputs/sheets/missing.csv does not exist"),
    ("s3://elsewhere/sheets/cohort.csv", "samplesheet: got 's3://elsewhere/sheets/cohort.csv'; the workflow cannot "
                                         "read that bucket"),
    (f"s3://{INPUTS}/sheets/cohort.xlsx", "must be a .csv (nf-core: sample,fastq_1,fastq_2) or .jsonl file"),
    ("/home/me/cohort.csv", "samplesheet: got '/home/me/cohort.csv'; must be an S3 URI"),
    (["s3://lab-inputs/a.csv"], "samplesheet: got ['s3://lab-inputs/a.csv']; must be an S3 URI"),
])
def test_a_samplesheet_that_cannot_be_read_is_refused(s3, value, message):
    sheet(s3, f"{HEADER}\nA,{reads('A')}\n", bucket="elsewhere")
    assert message in problems({"samplesheet": value, **shared()})


def test_sample_fields_belong_in_the_sheet(s3):
    text = problems({"samplesheet": sheet(s3, f"{HEADER}\nA,{reads('A')}\n"), **shared(), "sampleId": "A",
                     "fastq1S3Path": f"s3://{INPUTS}/a1.fq"})
    assert "sampleId: comes from each row of the samplesheet" in text
    assert "fastq1S3Path: comes from each row of the samplesheet" in text


def test_a_shared_field_missing_for_a_csv_sheet_is_named_once(s3):
    rows = "".join(f"S{i},{reads(f'S{i}')}\n" for i in range(20))
    with pytest.raises(InvalidSampleInput) as raised:
        run({"samplesheet": sheet(s3, f"{HEADER}\n{rows}"), **shared(referenceS3Path=None)})
    assert raised.value.problems == ["referenceS3Path: missing; required, an S3 URI s3://bucket/key"]


# --- resume ---------------------------------------------------------------------------------------------------

def test_resume_skips_samples_done_with_the_same_plan_and_only_those(s3):
    rows = "".join(f"S{i},{reads(f'S{i}')}\n" for i in range(4))
    uri = sheet(s3, f"{HEADER}\n{rows}")
    first = plan({"samplesheet": uri, **shared()})
    for done in first[:2]:                                 # what the workflow writes once a sample's jobs SUCCEEDED
        s3.put_object(Bucket=done["done"]["bucket"], Key=done["done"]["key"], Body=b"{}")
    s3.put_object(Bucket=RESULTS, Key=f"genomic-workflow/results/_opsflows/done/S2/{'0' * 20}.json", Body=b"{}")

    resumed = run({"samplesheet": uri, "resume": True, **shared()}, execution="exec-2")
    assert resumed["counts"] == {"samples": 4, "toRun": 2, "skipped": 2}       # S2's marker: another plan
    planned = json.loads(s3.get_object(Bucket=STATE, Key=resumed["plan"]["key"])["Body"].read())
    assert [s["sampleId"] for s in planned] == ["S2", "S3"]
    skipped = json.loads(s3.get_object(Bucket=STATE, Key=resumed["skipped"]["key"])["Body"].read())
    assert [(s["sampleId"], s["index"]) for s in skipped] == [("S0", 0), ("S1", 1)]
    changed = run({"samplesheet": uri, "resume": True, **shared(strelka={"cmdArgs": " --rna "})}, execution="exec-3")
    assert changed["counts"]["skipped"] == 0                                   # other arguments: another plan
    assert run({"samplesheet": uri, **shared()}, execution="exec-4")["counts"]["skipped"] == 0   # no resume


def test_resume_reruns_a_sample_whose_tool_image_changed(s3):
    """`pulumi up` with a new image makes a new revision of the tool's job definition: same inputs and arguments,
    another fingerprint, so resume runs the sample again with the new tool rather than keep the old tool's results."""
    uri = sheet(s3, f"{HEADER}\nS0,{reads('S0')}\n")
    (done,) = plan({"samplesheet": uri, **shared()})
    s3.put_object(Bucket=done["done"]["bucket"], Key=done["done"]["key"], Body=b"{}")
    assert run({"samplesheet": uri, "resume": True, **shared()}, execution="exec-2")["counts"]["skipped"] == 1

    snpeff = DEFINITIONS["snpEff"].rsplit(":", 1)[0] + ":4"
    upgraded = BatchResources(definitions={**DEFINITIONS, "snpEff": snpeff}, queues=QUEUES)
    resumed = plan_run({"samplesheet": uri, "resume": True, **shared()}, "exec-3", batch=upgraded,
                       results_bucket=RESULTS, input_buckets={INPUTS}, state_bucket=STATE)
    assert resumed["counts"] == {"samples": 1, "toRun": 1, "skipped": 0}
    (again,) = json.loads(s3.get_object(Bucket=STATE, Key=resumed["plan"]["key"])["Body"].read())
    assert (again["sampleId"], again["jobs"]["snpEff"]["definition"]) == ("S0", snpeff)
    assert again["jobs"]["snpEff"]["command"] == done["jobs"]["snpEff"]["command"]      # only the tool changed
    assert "Contents" not in s3.list_objects_v2(Bucket=STATE, Prefix="runs/exec-3/skipped")

def test_handler_reads_the_stacks_resources_from_its_environment(monkeypatch, s3):
    monkeypatch.setenv("JOB_DEFINITIONS", json.dumps(DEFINITIONS))
    monkeypatch.setenv("JOB_QUEUES", json.dumps(QUEUES))
    monkeypatch.setenv("RESULTS_BUCKET", RESULTS)
    monkeypatch.setenv("INPUT_BUCKETS", f"other-bucket,{INPUTS}")
    monkeypatch.setenv("STATE_BUCKET", STATE)
    result = handler({"input": seed_input(), "execution": "nightly-2024_06"}, None)
    assert result["plan"] == {"bucket": STATE, "key": "runs/nightly-2024_06/plan.json"}
    assert result["report"] == {"bucket": RESULTS, "json": "genomic-workflow/results/nightly-2024_06/report.json",
                                "csv": "genomic-workflow/results/nightly-2024_06/report.csv"}
    odd = [handler({"input": seed_input(), "execution": name}, None)["plan"]["key"] for name in ("run.1", "run:1")]
    assert odd[0] != odd[1] and all(k.startswith("runs/run-1-") for k in odd)      # never one folder for two
    with pytest.raises(InvalidSampleInput):
        handler({"input": seed_input(fastq1S3Path=None), "execution": "run-2"}, None)
