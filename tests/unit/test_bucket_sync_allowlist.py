"""opsflows:bucketSync.allowedBuckets entries: bucket names, or name prefixes ending in * (opsflows-drill-*),
validated in settings and applied by the Validate step (and, identically, by the fire drill's preflight)."""
from __future__ import annotations

import pytest

from bucket_sync.model import BucketNotAllowed, is_allowed, parse_request
from components.settings import SettingsError, load
from drill.bucket_sync import allows

BASE = {"role": "primary", "drRegion": "us-east-2", "snapshots": {"retain": 1}}


def allowed_setting(entries):
    return load({**BASE, "bucketSync": {"allowedBuckets": entries}}, "us-west-2").bucket_sync.allowed_buckets


def test_prefix_entries_are_accepted_next_to_names():
    assert allowed_setting(["prod-site", "opsflows-drill-*", "abc*"]) == ("prod-site", "opsflows-drill-*", "abc*")


@pytest.mark.parametrize("entry", ["*", "ab*", "opsflows-*-drill", "Opsflows-drill-*", "drill-**", "-drill*"])
def test_a_bare_star_a_short_prefix_or_a_star_inside_is_refused(entry):
    with pytest.raises(SettingsError, match=r"opsflows:bucketSync.allowedBuckets: got .*prefixes of at least 3"):
        allowed_setting([entry])


CASES = [  # (entries, bucket, allowed?)
    (["opsflows-drill-*"], "opsflows-drill-20250101-ab12cd-src", True),
    (["opsflows-drill-*"], "opsflows-drill", False),            # the prefix itself is not a match...
    (["opsflows-drill-*"], "opsflows-drillx", False),           # ... nor a name that only starts alike
    (["opsflows-drill-*"], "prod-site", False),
    (["site"], "site2", False),                                 # a name without * is exact
    (["site"], "site", True),
]


@pytest.mark.parametrize("entries, bucket, expected", CASES)
def test_validate_and_the_drill_decide_alike(entries, bucket, expected):
    assert is_allowed(bucket, entries) is expected
    assert allows(entries, bucket) is expected


def test_a_sync_between_buckets_outside_the_prefix_is_refused_by_name():
    allowed = {"opsflows-drill-*"}
    request = parse_request({"source": "opsflows-drill-a-src", "destination": "opsflows-drill-a-dst"}, allowed)
    assert request.destination.bucket == "opsflows-drill-a-dst"
    with pytest.raises(BucketNotAllowed, match="destination bucket 'prod-site' is not in"):
        parse_request({"source": "opsflows-drill-a-src", "destination": "prod-site"}, allowed)
