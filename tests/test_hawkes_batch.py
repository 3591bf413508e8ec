"""`simulate_batch` splits paths over host devices without changing them: in a process with two
CPU devices (`--xla_force_host_platform_device_count=2`) it equals `vmap(simulate)` path by
path, its output lives on both devices, a batch that does not split evenly falls back to one
device, and overflow raises."""

import json
import os
import subprocess
import sys

import jax
import pytest

import wmjax as wm
from wmjax.hawkes import HawkesParams, simulate_batch

_TWO_DEVICES = r"""
import json
import jax, numpy as np
import wmjax as wm
from wmjax.hawkes import HawkesParams, simulate, simulate_batch

p = HawkesParams.create([0.3, 0.2], [[0.3, 0.1], [0.2, 0.25]], [[2.0, 3.0], [3.0, 2.0]])
out = {"devices": jax.local_device_count()}
keys = jax.random.split(jax.random.key(8), 8)
reference = jax.vmap(lambda k: simulate(k, p, 50.0, 200, throw=False))(keys)
for n in (8, 7):
    a = simulate_batch(keys[:n], p, 50.0, 200)
    b = jax.tree.map(lambda x: x[:n], reference)
    out[n] = {
        "devices_used": len(a.times.sharding.device_set),
        "times_gap": float(np.max(np.abs(np.asarray(a.times) - np.asarray(b.times)))),
        "same_marks": bool(np.array_equal(a.marks, b.marks)),
        "same_counts": bool(np.array_equal(a.count, b.count)),
        "min_count": int(np.min(a.count)),
    }
try:
    simulate_batch(keys, p, 5000.0, 200)  # the same compiled program, a longer horizon
except wm.InputError as err:
    out["overflow_error"] = str(err)
print(json.dumps(out))
"""


def test_split_over_two_host_devices_equals_vmap():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    run = subprocess.run(
        [sys.executable, "-c", _TWO_DEVICES], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2
    for n, used in (("8", 2), ("7", 1)):  # 7 paths do not split evenly: one device
        assert out[n]["devices_used"] == used
        assert out[n]["same_marks"] and out[n]["same_counts"] and out[n]["min_count"] > 5
        # float32 times may differ in the last bit between the two compiled programs
        assert out[n]["times_gap"] < 1e-4
    assert "capacity=200 is too small for 8 of 8 paths" in out["overflow_error"]


def test_rejects_a_single_key():
    p = HawkesParams.create(0.5, 0.6, 2.0)
    with pytest.raises(wm.InputError, match="keys"):
        simulate_batch(jax.random.key(0), p, 30.0, 128)
