"""Handlers against plain moto (no local cloud): each test gets a fresh mocked AWS."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto import mock_aws

from localcloud import patches

EVENTS = Path(__file__).resolve().parent.parent / "fixtures" / "events"


@pytest.fixture
def aws():
    """Plain moto with the local cloud's gap patches (e.g. snapshot start times one second apart, as AWS
    orders them), but no program deployed and no Lambda runtime."""
    patches.apply_all()
    with mock_aws():
        yield


def sample_event(name: str, **detail) -> dict:
    """One of AWS's documented sample events, with detail fields replaced."""
    event = json.loads((EVENTS / f"{name}.json").read_text())
    event["detail"].update(detail)
    return event
