"""Distributed Map: in AWS a child execution that fails counts against the Map Run's tolerated failures
(ToleratedFailureCount / ToleratedFailurePercentage, both zero unless declared) and, once they are exceeded, the
Map Run and the Map state fail with States.ExceedToleratedFailureThreshold, which the state's Catch can route.
moto counts the failed child and carries on: the Map succeeds with a null in its results.

This patch fails the Map Run as AWS does. moto defaults both thresholds to 0 even when only one is declared, so
a failure must exceed both of them here (equal to AWS's rule whenever at most one threshold is declared)."""
from __future__ import annotations

import threading

from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent, FailureEventException)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
    DistributedItemProcessorWorker)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded

_LOCK = threading.Lock()
CAUSE = "The specified tolerated failure threshold was exceeded"


def apply() -> None:
    original = DistributedItemProcessorWorker._eval_job

    def _eval_job(self, env, job) -> None:
        original(self, env, job)
        if isinstance(env.program_state(), ProgramEnded) and job.job_output is not None:
            return
        record = self._map_run_record
        with _LOCK:
            record._localcloud_failed = getattr(record, "_localcloud_failed", 0) + 1
            failed = record._localcloud_failed
        total = max(1, self._job_pool._jobs_number)
        if failed > record.tolerated_failure_count and failed * 100.0 / total > record.tolerated_failure_percentage:
            error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
            job.job_output = FailureEventException(FailureEvent(
                env=env, error_name=error, event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
                    error=error.error_name, cause=CAUSE))))

    DistributedItemProcessorWorker._eval_job = _eval_job
