"""The fault and bad-input catalogues (localcloud/catalogue/): every row of every workflow, played on fresh
resources in one deployment per workflow, judged by the rules: transient faults retried to the same end state,
permanent ones FAILED with one alert and a rerun that converges, malformed inputs refused with one alert that
names the problem and nothing changed. `python -m localcloud faults` prints the same as a table."""
from __future__ import annotations

import pytest

from localcloud.catalogue import exercises
from localcloud.catalogue.run import deployed, run_bad_input, run_fault

EXERCISES = exercises()


class Catalogue:
    """The rows of one workflow (a class per workflow, so one deployment serves them all)."""

    workflow: str

    @pytest.fixture(scope="class")
    def cloud(self):
        with deployed(EXERCISES[self.workflow]) as cloud:
            yield cloud

    def test_fault(self, cloud, case):
        outcome = run_fault(cloud, EXERCISES[self.workflow], case)
        assert outcome.violations == [], case.why

    def test_bad_input(self, cloud, bad):
        outcome = run_bad_input(cloud, EXERCISES[self.workflow], bad)
        assert outcome.violations == []


def pytest_generate_tests(metafunc):
    if metafunc.cls is None or not issubclass(metafunc.cls, Catalogue):
        return
    exercise = EXERCISES[metafunc.cls.workflow]
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", exercise.faults, ids=str)
    if "bad" in metafunc.fixturenames:
        metafunc.parametrize("bad", exercise.bad_inputs, ids=str)


for _name in EXERCISES:
    _title = "".join(part.title() for part in _name.replace("-", "_").split("_"))
    globals()[f"Test{_title}"] = type(f"Test{_title}", (Catalogue,), {"workflow": _name})


def test_the_catalogue_covers_every_workflow_with_transient_permanent_and_malformed_rows():
    assert set(EXERCISES) == {"snapshots", "credentials", "bucket-sync", "genomics"}
    for name, exercise in EXERCISES.items():
        assert {c.expect for c in exercise.faults} == {"SUCCEEDED", "FAILED"}, name
        assert len(exercise.faults) >= 5 and len(exercise.bad_inputs) >= 1, name
        assert len({str(c) for c in exercise.faults}) == len(exercise.faults), f"{name}: a fault row twice"
    assert sum(len(e.faults) for e in EXERCISES.values()) >= 30
    assert sum(len(e.bad_inputs) for e in EXERCISES.values()) >= 40


class TestTheJudge:
    """The rules can fail: a row whose expectation is wrong, or whose fault never fires, is a violation."""

    @pytest.fixture(scope="class")
    def cloud(self):
        with deployed(EXERCISES["snapshots"]) as cloud:
            yield cloud

    def test_a_permanent_fault_expected_to_be_retried_is_a_violation(self, cloud):
        from localcloud.catalogue import SUCCEEDED, FaultCase
        outcome = run_fault(cloud, EXERCISES["snapshots"],
                            FaultCase(("ec2.CopySnapshot=UnauthorizedOperation:1",), SUCCEEDED))
        assert outcome.status == "FAILED" and outcome.alerts == 1
        assert any("must be retried to success" in v for v in outcome.violations)
        assert not any("alert" in v for v in outcome.violations)        # one alert for one failure: as it must

    def test_a_fault_that_never_fires_is_a_violation(self, cloud):
        from localcloud.catalogue import SUCCEEDED, FaultCase
        outcome = run_fault(cloud, EXERCISES["snapshots"],
                            FaultCase(("ec2.CopySnapshot@no-such-volume=ResourceLimitExceeded:1",), SUCCEEDED))
        assert outcome.violations == ["no fault fired: the row tests nothing (wrong operation, match or workflow?)"]
