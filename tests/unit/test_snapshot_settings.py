"""opsflows:snapshots settings of the DR copy queue: defaults, bounds, and errors naming the key."""
import pytest

from components.settings import SettingsError, load


def snapshots(**values) -> dict:
    return {"role": "primary", "drRegion": "us-east-2", "snapshots": {"retain": 7, **values}}


def test_the_copy_queue_defaults():
    s = load(snapshots(), "us-west-2").snapshots
    assert (s.copy_deadline_hours, s.copy_attempts, s.max_concurrent_copies) == (24, 3, 20)


def test_the_deadline_takes_fractions_of_an_hour():
    assert load(snapshots(copyDeadlineHours=0.5), "us-west-2").snapshots.copy_deadline_hours == 0.5


@pytest.mark.parametrize("values, problem", [
    ({"copyDeadlineHours": 0}, "opsflows:snapshots.copyDeadlineHours: got 0; must be a number of hours > 0"),
    ({"copyDeadlineHours": 9000}, "opsflows:snapshots.copyDeadlineHours: got 9000"),
    ({"copyDeadlineHours": "24"}, "opsflows:snapshots.copyDeadlineHours: got '24'"),
    ({"copyDeadlineHours": True}, "opsflows:snapshots.copyDeadlineHours: got True"),
    ({"copyAttempts": 0}, "opsflows:snapshots.copyAttempts: got 0; must be an integer >= 1 and <= 10"),
    ({"maxConcurrentCopies": 21}, "opsflows:snapshots.maxConcurrentCopies: got 21; must be an integer >= 1 and <= 20"),
])
def test_bad_copy_queue_settings_are_named(values, problem):
    with pytest.raises(SettingsError) as raised:
        load(snapshots(**values), "us-west-2")
    assert problem in str(raised.value)
