"""Shared fixtures: the local cloud, and a clean Pulumi runtime per test."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "functions"))       # handlers import `common` and their package as Lambda does
os.environ.setdefault("PULUMI_ERROR_OUTPUT_STRING", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                   "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}.items():
    os.environ[key] = value

from localcloud import LocalCloud  # noqa: E402


@pytest.fixture
def cloud():
    """A fresh local cloud (nothing deployed yet): `cloud.deploy("primary")` inside the test."""
    with LocalCloud() as local:
        yield local


@pytest.fixture
def faults(cloud):
    """Inject AWS faults into the workload as `rehearse --fault` does: `faults("s3.CopyObject=SlowDown:2", ...)`
    returns the Fault objects (`.injected` counts what each failed); `cloud.clear_errors()` ends them."""
    return cloud.inject
