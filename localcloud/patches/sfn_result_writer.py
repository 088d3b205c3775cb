"""A Distributed Map's ResultWriter exports its children's results to S3.

AWS: with `"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket", "Prefix"}}` the
Map Run writes, under <Prefix>/<map run id>/, result files that are JSON arrays of its child executions by
status, SUCCEEDED_<n>.json and FAILED_<n>.json (aborted and timed-out children with the failed; each file at most
5 GB, split beyond), each entry {"ExecutionArn", "Name", "StateMachineArn", "Input" (JSON text),
"InputDetails", "Status", "StartDate", "StopDate", "RedriveCount", "RedriveStatus", "RedriveStatusReason", and
"Output"/"OutputDetails" or "Error"/"Cause"}; then manifest.json, {"DestinationBucket", "MapRunArn",
"ResultFiles": {"FAILED": [{"Key", "Size"}], "PENDING": [], "SUCCEEDED": [...]}}. The Map state's result is
{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key" (the manifest)}}, never the children's outputs.
The paths of its Parameters (`"Prefix.$"`) are evaluated against the Map state's input.
moto: writes the manifest with no result file in it ("TODO: generate result files"), and evaluates the
Parameters' paths against the list of the children's outputs.

Here the result files are written from the children the Map Run recorded (patches.sfn_map_child_executions),
with the Map state's role, so faults injected into s3.PutObject reach the ResultWriter as in AWS.
"""
from __future__ import annotations

import datetime
import json

from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (  # noqa: E501
    ResourceEvalS3)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import ResultWriter

from .sfn_map_child_executions import of_map_run

FILE_BYTES = 5 * 1024**3           # AWS splits result files at 5 GB; tests may lower it
FAILED_STATUSES = ("FAILED", "ABORTED", "TIMED_OUT")


def _date(value: datetime.datetime) -> str:
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def entry(child: dict) -> dict:
    """A child execution as a result file lists it."""
    found = {"ExecutionArn": child["ExecutionArn"], "Input": child["Input"], "InputDetails": {"Included": True},
             "Name": child["Name"], "RedriveCount": 0, "StartDate": _date(child["StartDate"]),
             "StateMachineArn": child["StateMachineArn"], "Status": child["Status"],
             "StopDate": _date(child["StopDate"])}
    if child["Status"] == "SUCCEEDED":
        found.update(Output=child["Output"], OutputDetails={"Included": True}, RedriveStatus="NOT_REDRIVABLE",
                     RedriveStatusReason="Execution is SUCCEEDED and cannot be redriven")
    else:
        found.update(Error=child.get("Error") or "", Cause=child.get("Cause") or "", RedriveStatus="REDRIVABLE")
    return found


def _files(children: list[dict]) -> dict[str, list[list[str]]]:
    """status -> files, each a list of entries as JSON text, cut at FILE_BYTES."""
    files: dict[str, list[list[str]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    sizes: dict[str, int] = {}
    for child in children:
        status = "SUCCEEDED" if child["Status"] == "SUCCEEDED" else "FAILED"
        text = json.dumps(entry(child))
        if not files[status] or sizes[status] + len(text) + 2 > FILE_BYTES:
            files[status].append([])
            sizes[status] = 2
        files[status][-1].append(text)
        sizes[status] += len(text) + 1
    return files


def apply() -> None:
    @staticmethod
    def _handle_put_object(env, resource_runtime_part, state_credentials) -> None:
        parameters = env.stack.pop()
        env.stack.pop()                                     # the children's outputs: in the files, not the state
        s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part,
                                           state_credentials=state_credentials)
        record = env.map_run_record_pool_manager.get_all()[-1]
        prefix = parameters.get("Prefix") or ""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder = f"{prefix}{record.map_run_arn.rsplit(':', 1)[-1]}/"
        bucket = parameters["Bucket"]
        written: dict[str, list[dict]] = {}
        for status, files in _files(of_map_run(record)).items():
            written[status] = []
            for n, entries in enumerate(files):
                body = ("[" + ",\n".join(entries) + "]").encode()
                key = f"{folder}{status}_{n}.json"
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                written[status].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": written}
        s3.put_object(Bucket=bucket, Key=f"{folder}manifest.json", Body=json.dumps(manifest, indent=2).encode())
        env.stack.append({"MapRunArn": record.map_run_arn,
                          "ResultWriterDetails": {"Bucket": bucket, "Key": f"{folder}manifest.json"}})

    ResourceEvalS3._handle_put_object = _handle_put_object

    def _eval_body(self: ResultWriter, env) -> None:
        outputs = env.stack.pop()
        env.stack.append(env.states.get_input())          # the Map state's input: what the paths read
        self.parargs.eval(env=env)
        parameters = env.stack.pop()
        env.stack.pop()
        env.stack.extend([outputs, parameters])
        self.resource_eval.eval_resource(env=env)

    ResultWriter._eval_body = _eval_body
