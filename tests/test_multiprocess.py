"""Scale-out across processes, as the README's multi-host section describes: two processes on
this machine join one run with `jax.distributed.initialize` (CPU collectives over gloo, 2 XLA
devices each), `rollout` shards its paths over the 4 devices of both and `counterfactual` splits
its orders over them; both must equal the single-process result."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("_multiprocess_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_multiprocess_rollout_and_counterfactual_equal_one_process(tmp_path):
    port = str(_free_port())
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(i), port, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    results = [json.loads((tmp_path / f"result_{i}.json").read_text()) for i in range(2)]

    sys.path.insert(0, str(WORKER.parent))
    from _multiprocess_worker import scenario

    is_bps, objective, report = scenario()  # this process: one device
    for r in results:
        assert r["devices"] == 4 and r["local_devices"] == 2
        assert "paths" in r["sharding"]  # the paths really were spread over both processes
        # float32 sums in another order over two processes
        np.testing.assert_allclose(r["is_bps"], np.asarray(is_bps), rtol=1e-4, atol=1e-4)
        assert r["objective"] == pytest.approx(float(objective), rel=1e-5)
        np.testing.assert_allclose(r["mean_bps"], report.mean_bps, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(r["percentile"], report.percentile)
        np.testing.assert_allclose(r["difference_se_bps"], report.difference_se_bps, rtol=1e-4)
        assert r["best"] == report.best
