"""Volume files and volume-profile forecasts: readers, leakage, the Kalman filter against a
plain reference, parameter recovery, and closed-form cases of each forecaster."""

import functools
import importlib.util
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _shared import shared_file

from wmjax import InputError
from wmjax.calibrate import (
    KalmanVolumeParams,
    PowerCurveParams,
    bdf_beliefs,
    calendar_days,
    fit_kalman_volume,
    fit_power_curve,
    kalman_beliefs,
    kalman_filter_volume,
    power_curve_beliefs,
    rolling_mean_beliefs,
    trailing_power_mean,
)
from wmjax.data import load_lean_hourly, load_volume_bins
from wmjax.models import VWAPWorldModel, vwap_inputs, world_model_beliefs, world_model_prior

STATIC_SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "vwap_static_curves.py"
N_DAYS, N_BINS, DAY = 30, 6, 25
_POWER = PowerCurveParams(-1.0, 0.5, 21)


@pytest.fixture(scope="module")
def volume():
    rng = np.random.default_rng(0)
    curve = np.array([3.0, 1.5, 1.0, 1.0, 1.5, 3.0])
    level = np.exp(rng.normal(0, 0.3, (N_DAYS, 1)))
    return 1e5 * curve * level * np.exp(rng.normal(0, 0.3, (N_DAYS, N_BINS)))


def _dates(n):
    return np.array([str(np.datetime64("2019-01-01") + i) for i in range(n)])


@functools.cache
def _perturbed_params(shapes):
    """A VWAPWorldModel(4) and random (non-zero) params for inputs of these shapes: initialised
    once (an eager flax init costs seconds) and reused by every leakage case."""
    model = VWAPWorldModel(4)
    params = model.init(jax.random.key(0), *(jnp.zeros(s) for s in shapes))
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    params = jax.tree.unflatten(
        tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    )
    return model, params


def _world_model_beliefs(vol, dynamic):
    """World model with random (non-zero) heads on its prior, for the leakage test."""
    days = np.array([DAY])
    prior = world_model_prior(vol, days, fit_until=20)
    batch = vwap_inputs(vol, days, _dates(N_DAYS), prior)
    model, params = _perturbed_params(tuple(x.shape[1:] for x in _model_args(batch)))
    return world_model_beliefs(model, params, vol, days, _dates(N_DAYS), prior, dynamic)


def _model_args(batch):
    return batch.opening, batch.base_logits, batch.printed, batch.base_rest, batch.bin_feats


METHODS = {
    "rolling_mean": lambda v: rolling_mean_beliefs(v, [DAY], 21),
    "power_curve": lambda v: power_curve_beliefs(v, [DAY], _dates(N_DAYS), _POWER),
    "bdf": lambda v: bdf_beliefs(v, [DAY], 21),
    "bdf_dynamic": lambda v: bdf_beliefs(v, [DAY], 21, dynamic=True),
    "kalman": lambda v: kalman_beliefs(v, [DAY], 21, fit_until=20),
    "kalman_dynamic": lambda v: kalman_beliefs(v, [DAY], 21, True, fit_until=20),
    "world_model": lambda v: _world_model_beliefs(v, False),
    "world_model_dynamic": lambda v: _world_model_beliefs(v, True),
    "world_model_prior": lambda v: world_model_prior(v, [DAY], fit_until=20),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_no_leakage_of_the_days_own_volume(volume, name):
    """Row k of day d's belief uses bins < k of day d only: changing bins >= k of day d (and
    every later day) leaves rows 0..k unchanged; static rows never see day d."""
    f = METHODS[name]
    base = np.asarray(f(volume))[0]
    rng = np.random.default_rng(5)
    for k in (0, 1, 3):
        changed = volume.copy()
        changed[DAY, k:] *= rng.uniform(0.2, 5.0, N_BINS - k)
        changed[DAY + 1 :] *= rng.uniform(0.2, 5.0, changed[DAY + 1 :].shape)
        again = np.asarray(f(changed))[0]
        np.testing.assert_allclose(again[: k + 1], base[: k + 1], rtol=1e-5, atol=1e-7)
        if k == 3 and "dynamic" in name:  # the dynamic ones do use the printed bins
            assert not np.allclose(again[k + 1 :], base[k + 1 :], rtol=1e-4)
    np.testing.assert_allclose(base.sum(-1), 1.0, rtol=1e-5)


def test_untrained_world_model_is_its_prior_and_the_prior_opens_on_the_rolling_mean(volume):
    """Zero output heads: the static forecast is the prior's row 0, which is the 21-day mean
    share; the dynamic rows are the Kalman filter's with that curve as seasonal (bins >= k of
    row k in the filter's proportions times curve_j / filter row 0_j)."""
    days = np.array([DAY, DAY + 1])
    prior = np.asarray(world_model_prior(volume, days, fit_until=20))
    shares = volume / volume.sum(1, keepdims=True)
    curve = np.stack([shares[d - 21 : d].mean(0) for d in days])
    np.testing.assert_allclose(prior[:, 0], curve, rtol=1e-5)
    kal = np.asarray(kalman_beliefs(volume, days, 5, True, fit_until=20))
    k = 3
    ratio = prior[:, k, k:] / kal[:, k, k:] / (prior[:, 0, k:] / kal[:, 0, k:])
    np.testing.assert_allclose(ratio / ratio[:, :1], 1.0, rtol=1e-4)
    batch = vwap_inputs(volume, days, _dates(N_DAYS), prior)
    model = VWAPWorldModel(4)
    params = model.init(jax.random.key(0), *(x[0] for x in _model_args(batch)))
    for dynamic in (False, True):
        got = np.asarray(world_model_beliefs(model, params, volume, days, _dates(N_DAYS),
                                             prior, dynamic))  # fmt: skip
        want = prior if dynamic else np.broadcast_to(prior[:, :1], prior.shape)
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-6)


def test_rolling_mean_is_the_mean_share_of_the_last_21_days(volume):
    shares = volume / volume.sum(1, keepdims=True)
    expected = np.mean([shares[d] for d in range(DAY - 21, DAY)], axis=0)
    np.testing.assert_allclose(rolling_mean_beliefs(volume, [DAY])[0, 0], expected, rtol=1e-5)


def test_power_means_and_calendar_days(volume):
    shares = volume / volume.sum(1, keepdims=True)
    window = shares[DAY - 21 : DAY]
    for power, want in [(1.0, window.mean(0)), (0.0, np.exp(np.log(window).mean(0))),
                        (-1.0, 1.0 / (1.0 / window).mean(0))]:  # fmt: skip
        got = trailing_power_mean(shares, [DAY], 21, power)[0]
        np.testing.assert_allclose(got, want, rtol=1e-9)
    # 2019: Jan 31 (Thu) and May 31 (Fri) are month-ends, Jan 18 and Mar 15 third Fridays;
    # Mar 8 (2nd Friday), Mar 22 (4th Friday), Apr 29 (Mon) are not
    dates = ["2019-01-18", "2019-01-31", "2019-03-08", "2019-03-15", "2019-03-22",
             "2019-04-29", "2019-05-31"]  # fmt: skip
    np.testing.assert_array_equal(calendar_days(dates), [1, 1, 0, 1, 0, 0, 1])


def test_power_curve_recovers_a_planted_closing_uplift():
    """Days with i.i.d. shares and the last bin x e^0.6 on calendar days: the fit recovers the
    uplift from the training days and puts it on the calendar test days only."""
    rng = np.random.default_rng(3)
    n_days = 400
    dates = np.array([str(np.datetime64("2019-01-01") + i) for i in range(n_days)])
    curve = np.array([3.0, 1.5, 1.0, 1.0, 1.5, 3.0])
    vol = curve * np.exp(rng.normal(0, 0.3, (n_days, 6)))
    special = calendar_days(dates)
    share = vol[:, -1] / vol.sum(1)
    vol[special, -1] *= np.exp(0.6)
    fit = fit_power_curve(vol, np.arange(40, 300), dates, window=40)
    # the uplift seen through shares: log(e^0.6 s / (1 - s + e^0.6 s)) - log s on those days
    on = special[40:300]
    want = 0.6 - np.mean(np.log1p((np.exp(0.6) - 1) * share[40:300][on]))
    assert fit.close_log_uplift == pytest.approx(want, abs=0.05)
    b = np.asarray(power_curve_beliefs(vol, [300, 301, 302, 303], dates, fit))[:, 0]
    s = special[300:304]
    assert s.any() and (~s).any()
    assert b[s, -1].min() > 1.3 * b[~s, -1].max()


def test_static_curves_experiment_runs_on_real_bins(tmp_path):
    spec = importlib.util.spec_from_file_location("vwap_static_curves", STATIC_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = str(shared_file("volume", "AAPL_15min_volume.csv"))
    result = module.main(["--volume", path, "--out", str(tmp_path)])
    block = json.loads((tmp_path / "vwap_static_curves.json").read_text())
    assert block == json.loads(json.dumps(result))
    rows = block["AAPL_15min_volume.csv"]["candidates"]
    assert abs(rows["mean 21d"]["mape_gain"]) < 1e-12  # the baseline against itself
    assert any(name.startswith("power_curve") for name in rows)


def test_bdf_forecasts_a_pure_common_component_exactly():
    curve = np.array([3.0, 1.5, 1.0, 1.0, 1.5, 3.0])
    level = np.exp(np.random.default_rng(1).normal(0, 0.3, (N_DAYS, 1)))
    vol = 1e5 * curve * level
    b = np.asarray(bdf_beliefs(vol, [DAY], 21))[0, 0]
    np.testing.assert_allclose(b, curve / curve.sum(), atol=2e-3)


def _kalman_reference(params, y):
    """Textbook predict/update loop in float64, one bin at a time."""
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    mean, cov = np.zeros(2), np.diag([p.var_eta, p.var_mu])
    out = []
    for t in range(y.shape[0]):
        for i in range(y.shape[1]):
            a = np.diag([p.a_eta if i == 0 else 1.0, p.a_mu])
            q = np.diag([p.var_eta if i == 0 else 0.0, p.var_mu])
            mean, cov = a @ mean, a @ cov @ a.T + q
            out.append(mean.copy())
            h = np.ones(2)
            s = h @ cov @ h + p.var_obs
            gain = cov @ h / s
            mean = mean + gain * (y[t, i] - p.phi[i] - h @ mean)
            cov = cov - np.outer(gain, h @ cov)
    return np.array(out).reshape(*y.shape, 2)


def test_kalman_filter_matches_a_plain_reference(volume):
    y = np.log(volume[:8])
    params = KalmanVolumeParams(
        phi=jnp.asarray(y.mean(0), jnp.float32),
        a_eta=jnp.float32(0.7),
        var_eta=jnp.float32(0.08),
        a_mu=jnp.float32(0.5),
        var_mu=jnp.float32(0.05),
        var_obs=jnp.float32(0.04),
    )
    got = kalman_filter_volume(params, jnp.asarray(y, jnp.float32))
    np.testing.assert_allclose(got, _kalman_reference(params, y), atol=2e-4)


def test_kalman_moments_recover_simulated_parameters():
    rng = np.random.default_rng(0)
    n_days, n_bins = 2000, 26
    a_eta, var_eta, a_mu, var_mu, var_obs = 0.7, 0.1, 0.5, 0.05, 0.03
    phi = np.linspace(-1, 1, n_bins) ** 2 + 14.0
    eta_shocks = rng.normal(0, np.sqrt(var_eta), n_days)
    mu_shocks = rng.normal(0, np.sqrt(var_mu), n_days * n_bins)
    eta = np.asarray(jax.lax.scan(lambda e, w: (a_eta * e + w,) * 2, 0.0, eta_shocks)[1])
    mu = np.asarray(jax.lax.scan(lambda m, w: (a_mu * m + w,) * 2, 0.0, mu_shocks)[1])
    y = eta[:, None] + phi + mu.reshape(n_days, n_bins)
    y = y + rng.normal(0, np.sqrt(var_obs), y.shape)
    fit = fit_kalman_volume(jnp.asarray(y, jnp.float32))
    assert float(fit.a_eta) == pytest.approx(a_eta, abs=0.06)
    assert float(fit.var_eta) == pytest.approx(var_eta, rel=0.2)
    assert float(fit.a_mu) == pytest.approx(a_mu, abs=0.08)
    assert float(fit.var_mu) == pytest.approx(var_mu, rel=0.25)
    assert float(fit.var_obs) == pytest.approx(var_obs, rel=0.35)
    np.testing.assert_allclose(fit.phi, phi, atol=0.1)


def test_bins_reader_grid_half_days_and_any_width(tmp_path):
    rows = ["bar_start_ET,volume"]
    for day in ("2019-01-02", "2019-01-03", "2019-01-04"):
        for m in range(0, 390, 30):  # 30-minute bins, 13 a day
            if day == "2019-01-03" and m >= 210:  # a half day
                continue
            if day == "2019-01-04" and m == 60:  # a missing bin
                continue
            hh, mm = divmod(570 + m, 60)
            rows.append(f"{day} {hh:02d}:{mm:02d}:00,{1000 + m}")
    rows.append("2019-01-07 09:30:00,5")  # a fourth day with one bin
    for m in range(30, 390, 30):
        hh, mm = divmod(570 + m, 60)
        rows.append(f"2019-01-07 {hh:02d}:{mm:02d}:00,{7 + m}")
    path = tmp_path / "v.csv"
    path.write_text("\n".join(rows) + "\n")
    bins = load_volume_bins(path)
    assert bins.n_bins == 13 and bins.bin_start_s[0] == 9.5 * 3600
    np.testing.assert_array_equal(bins.complete, [True, False, False, True])
    assert np.isnan(bins.volume_shares[1, 7:]).all() and np.isnan(bins.volume_shares[2, 2])
    assert bins.volume_shares[3, 0] == 5


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("time,volume\n", "line 1: expected the header"),
        ("bar_start,volume\n2019-01-02 09:30:00,abc\n", "line 2: field volume"),
        ("bar_start,volume\n2019-01-02 09:30:00,5\n2019-01-02 9h45,5\n", "line 3: field bar_start"),
        ("bar_start,volume\n2019-01-02 09:45:00,5\n2019-01-02 09:30:00,5\n", "not after"),
        ("bar_start,volume\n2019-01-02 09:30:00,-5\n", "line 2: field volume must be"),
    ],
)
def test_bins_reader_names_file_line_and_field(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        load_volume_bins(path)
    assert "bad.csv" in str(info.value)


def test_lean_reader_scales_prices_and_flags_half_days(tmp_path):
    lines = [f"20200102 {h:02d}:00,3000000,3010000,2990000,3005000,{100 * h}" for h in range(9, 16)]
    lines += [f"20200103 {h:02d}:00,3000000,3010000,2990000,3005000,7" for h in range(9, 13)]
    path = tmp_path / "x.csv"
    path.write_text("\n".join(lines) + "\n")
    bars = load_lean_hourly(path)
    assert bars.close[0, 0] == pytest.approx(300.5)
    np.testing.assert_array_equal(bars.complete, [True, False])
    path.write_text("20200102 09:00,1,2,3\n")
    with pytest.raises(InputError, match="line 1: expected 6 fields"):
        load_lean_hourly(path)
