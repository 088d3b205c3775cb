"""The rules a faulted run is judged by: one alert per failure, none on success (but for reporting workflows)."""
from __future__ import annotations

from localcloud.rules import alert_problems

MACHINE = "arn:aws:states:us-west-2:123456789012:stateMachine:sync"
REPORTS = "arn:aws:states:us-east-1:123456789012:stateMachine:credentials"


def execution(name: str, status: str, machine: str = MACHINE, cause: str = "") -> dict:
    return {"arn": f"{machine.replace(':stateMachine:', ':execution:')}:{name}", "stateMachineArn": machine,
            "status": status, "error": "Boom" if status == "FAILED" else None, "cause": cause}


def alert(*executions: dict) -> dict:
    return {"subject": "opsflows FAILED", "message": " | ".join(f"execution: {e['arn']}" for e in executions),
            "attributes": {}}


def test_one_alert_per_failure_and_none_on_success_is_clean():
    ok, failed = execution("a", "SUCCEEDED"), execution("b", "FAILED")
    assert alert_problems([ok, failed], [alert(failed)]) == []


def test_a_failure_without_an_alert_is_a_problem():
    (problem,) = alert_problems([execution("b", "FAILED")], [])
    assert "ended FAILED (Boom) with no alert" in problem


def test_two_alerts_for_one_failure_are_a_problem():
    failed = execution("b", "FAILED")
    assert alert_problems([failed], [alert(failed), alert(failed)]) == ["2 alerts for one failure of b"]


def test_an_alert_for_a_success_is_a_problem_unless_the_workflow_reports_every_run():
    ok, report = execution("a", "SUCCEEDED"), execution("r", "SUCCEEDED", REPORTS)
    assert alert_problems([ok], [alert(ok)]) == ["an alert names a, which ended SUCCEEDED"]
    assert alert_problems([report], [alert(report)], reporting=[REPORTS]) == []
    assert alert_problems([report], [], reporting=[REPORTS]) == ["r ended SUCCEEDED without its report"]


def test_a_parent_failed_by_its_alerting_child_needs_no_alert_of_its_own():
    child = execution("child", "FAILED")
    parent = execution("parent", "FAILED", cause=f'{{"ExecutionArn": "{child["arn"]}", "Status": "FAILED"}}')
    assert alert_problems([parent, child], [alert(child)]) == []
    assert alert_problems([parent, child], []) == ["parent ended FAILED (Boom) with no alert",
                                                   "child ended FAILED (Boom) with no alert"]


def test_an_alert_naming_no_execution_of_the_run_is_a_problem():
    (problem,) = alert_problems([], [{"subject": "x", "message": "something broke", "attributes": {}}])
    assert problem.startswith("an alert names none of the run's executions")


def test_an_execution_still_running_is_a_problem():
    assert alert_problems([execution("a", "RUNNING")], []) == ["a ended RUNNING"]
