"""Shared test setup: import the repo's packages, hypothesis profiles, grad-mode hygiene.

Profiles (select with ``HYPOTHESIS_PROFILE=name``; ``CI=1`` selects ``ci``):
  default   25 examples per property, no deadline (the machine may be shared)
  ci        the same budget, derandomized (reproducible runs) and printing repro blobs
  dev       10 examples, for a quick local loop
  thorough  300 examples, for hunting bugs before a release
"""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; tests that need it import it themselves
    settings = None

if settings is not None:
    _common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("default", max_examples=25, **_common)
    settings.register_profile("ci", max_examples=25, derandomize=True, print_blob=True, **_common)
    settings.register_profile("dev", max_examples=10, **_common)
    settings.register_profile("thorough", max_examples=300, **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                          or ("ci" if os.environ.get("CI") else "default"))


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    """A test that fails inside no_grad()/detect_anomaly() must not leak that mode."""
    from autograd import grad_mode
    enabled, anomaly = grad_mode._enabled, grad_mode._anomaly
    yield
    grad_mode._enabled, grad_mode._anomaly = enabled, anomaly
