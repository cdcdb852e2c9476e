"""A local Ray instance for a test: a few CPUs, no dashboard, no token authentication."""

from __future__ import annotations

import pytest


def start_local_ray(monkeypatch: pytest.MonkeyPatch, num_cpus: int) -> None:
    """``ray.init`` a local instance, or skip the test when Ray cannot start on this machine.

    Ray (2.60) turns token authentication on for a new local instance and keeps the token under
    ``~/.ray``; a later instance in the same process, started by a test that points ``HOME``
    elsewhere, then cannot find it and its GCS aborts. Local test instances need no token.
    Ray gives its node 30 s to come up, which a busy 2-core machine can miss: three tries.
    """
    import ray

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    failure = None
    for _ in range(3):
        try:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
            return
        except Exception as error:  # noqa: BLE001 - Ray raises a bare Exception on timeout
            failure = error
            ray.shutdown()
    pytest.skip(f"a local Ray instance could not start on this machine: {failure}")
