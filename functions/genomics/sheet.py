"""What an execution input asks to run, sample by sample:

- one sample: the seed's test.input.json itself;
- `samples: [...]`: many, every other top-level field a default for each (a sample's own field wins);
- `samplesheet: "s3://bucket/key.csv"`: the nf-core convention for paired-end reads (a header row, columns
  `sample,fastq_1,fastq_2`; other columns are ignored; cells are trimmed), or `.jsonl`: one `samples[]` item a
  line. The other top-level fields are the samples' shared fields.

`resume: true` may accompany any of them. A samplesheet is streamed a megabyte at a time and never held whole:
its size is bounded by the Lambda's 15 minutes, not by its memory (`rows` yields one sample at a time).
Problems name the row and the column (`samplesheet row 7, column fastq_1: ...`; rows are numbered as a
spreadsheet shows them, the header being row 1) or the JSON Lines line and field.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import IO, Any, Iterator

from botocore.exceptions import ClientError

from common.errors import error_code

from . import s3io
from .sample import S3Uri, Problems, Where, _short, merge

RUN_KEYS = {"samples", "samplesheet", "resume"}
COLUMNS = {"sample": "sampleId", "fastq_1": "fastq1S3Path", "fastq_2": "fastq2S3Path"}   # nf-core -> ours
FIELDS = {ours: f"column {column}" for column, ours in COLUMNS.items()}
FORMATS = (".csv", ".jsonl")


class SheetUnreadable(Exception):
    """The samplesheet cannot be read any further (the problem is recorded); nothing more to validate."""


@dataclass
class RunInput:
    shared: dict                       # fields every sample inherits
    resume: bool
    samples: list | None = None        # `samples` (or [the input] for one sample)
    samplesheet: S3Uri | None = None
    several: bool = False              # `samples` was given (positions are named samples[i])


def parse_run(event: Any, problems: Problems, readable: set[str]) -> RunInput | None:
    """The run's form and shared fields, or None after adding what is wrong with them."""
    if not isinstance(event, dict):
        problems.add(f"input: expected a JSON object, got {type(event).__name__}")
        return None
    resume = event.get("resume", False)
    if not isinstance(resume, bool):               # named; the samples are checked all the same
        problems.add(f"resume: got {_short(resume)}; must be true or false")
        resume = False
    before = len(problems)
    shared = {k: v for k, v in event.items() if k not in RUN_KEYS}
    if "samples" in event and "samplesheet" in event:
        problems.add("samples, samplesheet: give one of them (a list of samples, or a samplesheet in S3)")
        return None
    if "samplesheet" in event:
        sheet = _sheet_uri(event["samplesheet"], problems, readable)
        for name in ("sampleId", "fastq1S3Path", "fastq2S3Path"):
            if name in shared:
                problems.add(f"{name}: comes from each row of the samplesheet, not from the input")
        return None if len(problems) > before else RunInput(shared, resume, samplesheet=sheet)
    if "samples" in event:
        items = event["samples"]
        if not isinstance(items, list) or not items:
            problems.add(f"samples: expected a non-empty list, got {_short(items)}")
            return None
        if "sampleId" in shared:
            problems.add("sampleId: belongs in each entry of samples, not at the top level")
        return None if len(problems) > before else RunInput(shared, resume, samples=items, several=True)
    return None if len(problems) > before else RunInput({}, resume, samples=[shared])


def _sheet_uri(value: Any, problems: Problems, readable: set[str]) -> S3Uri | None:
    try:
        if not isinstance(value, str):
            raise ValueError("must be an S3 URI s3://bucket/key")
        uri = S3Uri.parse(value)
    except ValueError as exc:
        problems.add(f"samplesheet: got {_short(value)}; {exc}")
        return None
    if not uri.key.endswith(FORMATS):
        problems.add(f"samplesheet: got {value!r}; must be a .csv (nf-core: sample,fastq_1,fastq_2) or .jsonl file")
    elif uri.bucket not in readable:
        problems.add(f"samplesheet: got {value!r}; the workflow cannot read that bucket: add it to "
                     f"opsflows:genomics.inputBuckets (readable: {', '.join(sorted(readable))})")
    else:
        return uri
    return None


def rows(run: RunInput, problems: Problems) -> Iterator[tuple[Where, Any]]:
    """(where, the sample's fields merged with the shared ones) for every sample, in order."""
    if run.samples is not None:
        for i, item in enumerate(run.samples):
            if not run.several:
                yield Where(), item
            elif isinstance(item, dict):
                yield Where(prefix=f"samples[{i}].", own=set(item), shared=set(run.shared)), merge(run.shared, item)
            else:
                yield Where(prefix=f"samples[{i}]."), item
        return
    try:
        text = _open(run.samplesheet, problems)
        with text:
            reader = _csv_rows if run.samplesheet.key.endswith(".csv") else _jsonl_rows
            for where, item in reader(text, run.samplesheet, problems):
                if where.shared is not None:
                    where.shared = set(run.shared)
                yield where, (merge(run.shared, item) if isinstance(item, dict) else item)
    except SheetUnreadable:
        return


def _open(uri: S3Uri, problems: Problems) -> IO[str]:
    try:
        return s3io.open_text(uri.bucket, uri.key, newline="")
    except ClientError as exc:
        if s3io.is_transient(exc):
            raise                               # throttling, 5xx: the state machine retries with backoff
        code = error_code(exc)
        if code in s3io.MISSING:
            problems.add(f"samplesheet: {uri} does not exist ({code})")
        else:
            problems.add(f"samplesheet: {uri} cannot be read: {code}: {exc.response.get('Error', {}).get('Message', '')}")
        raise SheetUnreadable from exc


def _lines(text: IO[str], uri: S3Uri, problems: Problems, unit: str) -> Iterator[str]:
    try:
        yield from text
    except UnicodeDecodeError as exc:
        problems.add(f"samplesheet {uri}: not UTF-8 text ({exc.reason} after the {unit} read so far)")
        raise SheetUnreadable from exc


def _csv_rows(text: IO[str], uri: S3Uri, problems: Problems) -> Iterator[tuple[Where, dict]]:
    reader = csv.reader(_lines(text, uri, problems, "rows"))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        problems.add(f"samplesheet {uri}: is empty; expected a header row sample,fastq_1,fastq_2 and a row per sample")
        return
    names = [cell.strip() for cell in header]
    missing = [c for c in COLUMNS if c not in names]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if missing or twice:
        if missing:
            problems.add(f"samplesheet row 1: missing column{'s' * (len(missing) > 1)} {', '.join(missing)} "
                         f"(the header has {', '.join(map(repr, names))}; nf-core paired-end sheets have "
                         "sample,fastq_1,fastq_2)")
        if twice:
            problems.add(f"samplesheet row 1: column{'s' * (len(twice) > 1)} {', '.join(twice)} appear"
                         f"{'s' * (len(twice) == 1)} twice")
        return
    position = {column: names.index(column) for column in COLUMNS}
    rename = FIELDS.get
    count = 0
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue                                           # blank lines (a trailing newline, ...)
        count += 1
        where = Where(prefix=f"samplesheet row {number}, ", own=set(COLUMNS.values()), shared=None,
                      rename=lambda name: rename(name, name))
        if len(cells) > len(names):
            problems.add(f"samplesheet row {number}: has {len(cells)} cells, the header has {len(names)} columns")
            continue
        yield where, {ours: cells[position[column]].strip() if position[column] < len(cells) else None
                      for column, ours in COLUMNS.items()}
    if count == 0:
        problems.add(f"samplesheet {uri}: has a header but no samples")


def _jsonl_rows(text: IO[str], uri: S3Uri, problems: Problems) -> Iterator[tuple[Where, Any]]:
    count = 0
    for number, line in enumerate(_lines(text, uri, problems, "lines"), start=1):
        if not line.strip():
            continue
        count += 1
        where = Where(prefix=f"samplesheet line {number}, ")
        try:
            item = json.loads(line)
        except ValueError as exc:
            problems.add(f"samplesheet line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        if isinstance(item, dict):
            where.own = set(item)
        yield where, item
    if count == 0:
        problems.add(f"samplesheet {uri}: is empty; expected one JSON object a line, one line per sample")
