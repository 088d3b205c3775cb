"""Stack settings: the stack files load; bad config raises one error naming the key, value and what is allowed."""
import pytest

from components.settings import SettingsError, load
from localcloud.deploy import stack_config


def raw(stack: str, **changes):
    config = stack_config(stack)
    values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("opsflows:")}
    values.update(changes)
    return values, config["aws:region"]


def test_stack_files_load():
    primary = load(*raw("primary"))
    dr = load(*raw("dr"))
    assert (primary.role, primary.home_region, primary.dr_region, primary.snapshots.retain) == \
        ("primary", "us-west-2", "us-east-2", 7)
    assert (dr.role, dr.home_region, dr.dr_region, dr.snapshots.retain) == ("dr", "us-east-2", None, 3)
    assert primary.credential_response.enabled and primary.credential_response.region == "us-east-1"
    assert primary.genomics.enabled is False


@pytest.mark.parametrize("changes, message", [
    ({"snapshots": {"retain": 0}}, "opsflows:snapshots.retain: got 0; must be an integer >= 1"),
    ({"snapshots": {"retain": "7"}}, "opsflows:snapshots.retain: got '7'; must be an integer >= 1"),
    ({"snapshots": {"retain": True}}, "opsflows:snapshots.retain: got True"),
    ({"snapshots": {}}, "opsflows:snapshots.retain: missing"),
    ({"role": "backup"}, "opsflows:role: got 'backup'; must be one of primary, dr"),
    ({"drRegion": "us-west-2"}, "opsflows:drRegion: got 'us-west-2'; must differ from aws:region (us-west-2)"),
    ({"drRegion": "mars-1"}, "opsflows:drRegion: got 'mars-1'; must be a region name"),
    ({"snapshots": {"retain": 7, "maxAgeDays": -1}}, "opsflows:snapshots.maxAgeDays: got -1"),
    ({"snapshots": {"retain": 7, "dryRun": "yes"}}, "opsflows:snapshots.dryRun: got 'yes'; must be true or false"),
    ({"snapshots": {"retain": 7, "retian": 3}}, "opsflows:snapshots.retian: unknown key"),
    ({"alertEmails": ["not-an-address"]}, "opsflows:alertEmails: got ['not-an-address']"),
    ({"credentialResponse": {"action": "shred"}}, "opsflows:credentialResponse.action: got 'shred'"),
    ({"genomics": {"enabled": True}}, "opsflows:genomics.subnetIds: missing; required when genomics is enabled"),
])
def test_bad_config_names_key_value_and_allowed(changes, message):
    with pytest.raises(SettingsError) as raised:
        load(*raw("primary", **changes))
    assert message in str(raised.value)


def test_missing_role_and_dr_region_are_named():
    with pytest.raises(SettingsError) as raised:
        load({"snapshots": {"retain": 3}}, "us-west-2")
    assert "opsflows:role: missing" in str(raised.value)
    with pytest.raises(SettingsError) as raised:
        load({"role": "primary", "snapshots": {"retain": 3}}, "us-west-2")
    assert "opsflows:drRegion: missing; required when opsflows:role is primary" in str(raised.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as raised:
        load(*raw("primary", role="x", snapshots={"retain": 0}))
    assert len(raised.value.problems) == 2
