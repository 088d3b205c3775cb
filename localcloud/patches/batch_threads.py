"""Concurrent Batch calls, as AWS serves them.

AWS: any number of SubmitJob and DescribeJobs calls may run at once (the parallel branches and Map iterations
of a workflow each submit and follow their own jobs).
moto: DescribeJobs iterates its job table (a dict) while a concurrent SubmitJob inserts into it, and fails with
"RuntimeError: dictionary changed size during iteration", which Step Functions reports as States.Runtime.
Here the two calls are serialised.
"""
from __future__ import annotations

import threading

from moto.batch.models import BatchBackend
from moto.batch_simple.models import BatchSimpleBackend

_JOBS = threading.RLock()


def apply() -> None:
    describe, submit, simple_submit = BatchBackend.describe_jobs, BatchBackend.submit_job, BatchSimpleBackend.submit_job

    def describe_jobs(self, *args, **kwargs):
        with _JOBS:
            return describe(self, *args, **kwargs)

    def submit_job(self, *args, **kwargs):
        with _JOBS:
            return submit(self, *args, **kwargs)

    def simple_submit_job(self, *args, **kwargs):
        with _JOBS:
            return simple_submit(self, *args, **kwargs)

    BatchBackend.describe_jobs = describe_jobs
    BatchBackend.submit_job = submit_job
    BatchSimpleBackend.submit_job = simple_submit_job
