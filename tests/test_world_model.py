"""wmjax.models world model: scanned rollout = repeated steps, one compiled training step,
checkpoints that reload, the baselines against closed forms, and leakage through training
(shuffling the test period or moving the split changes nothing the training rows determine)."""

from dataclasses import replace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import wmjax.models as M
from wmjax import features as F
from wmjax.data import load_lobster
from wmjax.models._world_train import (
    _baseline_direction_skip,
    _compiled,
    _init_variables,
    _predict_raw,
)

DATA = Path(__file__).resolve().parent / "data"
AMZN = (DATA / "AMZN_2012-06-21_message_1_first800rows.csv",
        DATA / "AMZN_2012-06-21_orderbook_1_first800rows.csv")  # fmt: skip
AAPL = (DATA / "AAPL_2012-06-21_message_10_first300rows.csv",
        DATA / "AAPL_2012-06-21_orderbook_10_first300rows.csv")  # fmt: skip
DCFG = M.WorldDataConfig(horizons=(10, 20), clock_horizon_s=2.0, seq_len=2, stride=5, history=8)
TCFG = M.TrainConfig(batch_size=32, learning_rate=3e-3)
SMALL = dict(lob_hidden=16, lob_out=8, flow_hidden=8, flow_out=8, d_latent=8, gru_hidden=8,
             flow_gru_hidden=8, policy_hidden=8)  # fmt: skip


@pytest.fixture(scope="module")
def stream():
    return F.stream_from_lobster(load_lobster(*AMZN))


@pytest.fixture(scope="module")
def test_start(stream):
    return float(np.asarray(stream.times_s)[560])


def _fit(prep, epochs=2, seed=0):
    mcfg = M.model_config_for(prep.data, **SMALL)
    return M.fit_world_model(
        jax.random.key(seed), prep.data, prep.normalizer, prep.fit_rows, DCFG,
        epochs=epochs, train_config=TCFG, model_config=mcfg, val_rows=prep.val_rows,
    )  # fmt: skip


@pytest.fixture(scope="module")
def fitted(stream, test_start):
    prep = M.prepare_world_data(stream, DCFG, test_start)
    return prep, _fit(prep)


def test_imagine_is_the_dynamics_fed_its_own_latents():
    cfg = M.WorldModelConfig(**SMALL)
    model = M.OrderBookWorldModel(cfg)
    h = jnp.zeros((3, cfg.gru_hidden))
    v = model.init(jax.random.key(1), h, jnp.zeros((3, 2, 4)), jnp.zeros((3, 2, 16)),
                   jnp.zeros((3, 2, 8, 5)), jnp.zeros((3, 2), jnp.int32))  # fmt: skip
    z0 = jax.random.normal(jax.random.key(2), (3, cfg.d_latent))
    actions = jnp.array([[0, 1, 4], [2, 2, 3], [4, 0, 1], [1, 1, 1]])  # (T=4, B=3)
    rolled = model.apply(v, h, z0, actions, method=model.imagine)
    step = jax.jit(lambda *a: model.apply(v, *a, method=lambda m, *b: m.dynamics.step(*b)))
    z, hh = z0, h
    for t in range(4):
        hh, pred = step(hh, z, actions[t])
        np.testing.assert_allclose(rolled.next_latent[t], pred.next_latent, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rolled.direction_logits[t], pred.direction_logits, 1e-5, 1e-6)
        z = pred.next_latent
    # the action changes the prediction (the dynamics is action-conditioned)
    other = model.apply(v, h, z0, (actions + 1) % 5, method=model.imagine)
    assert not np.allclose(other.next_latent, rolled.next_latent)


def test_training_compiles_once_and_the_loss_falls(fitted):
    _, fit = fitted
    _, _, step, _, _ = _compiled(fit.model_config, DCFG, TCFG)
    assert step._cache_size() == 1
    assert fit.losses.shape == (2,) and fit.losses[1] < fit.losses[0]
    assert fit.samples_per_s > 0 and fit.compile_seconds > 0


def test_order_flow_model_is_early_stopped_on_its_validation_nll(fitted):
    """The kept order-flow model scores no worse on the validation rows than its untrained
    state (the EWMA prior), which is one of the candidates; its NLL depends on its own
    parameters only (no latent in its context), so swapping them in is exact."""
    prep, fit = fitted
    *_, eval_loss = _compiled(fit.model_config, DCFG, TCFG)
    bs = TCFG.batch_size
    rows = prep.val_rows[: prep.val_rows.size // bs * bs].reshape(-1, bs)
    assert rows.shape[0] >= 1

    def val_nll(variables):
        return np.mean([float(eval_loss(variables, prep.data, jnp.asarray(r))[1]) for r in rows])

    fresh = _init_variables(jax.random.key(9), fit.model_config, DCFG)
    untrained = {**fit.variables, "params": {**fit.variables["params"],
                 "flow_model": fresh["params"]["flow_model"]}}  # fmt: skip
    assert -1 <= fit.best_price_epoch < 2
    assert val_nll(fit.variables) <= val_nll(untrained) + 1e-6


def test_encoder_and_dynamics_are_kept_from_the_lowest_validation_direction_loss(fitted):
    """The kept encoder/dynamics are the epoch with the lowest validation direction
    cross-entropy (recomputed here; it does not depend on the order-flow model's parameters)."""
    prep, fit = fitted
    *_, eval_loss = _compiled(fit.model_config, DCFG, TCFG)
    bs = TCFG.batch_size
    rows = prep.val_rows[: prep.val_rows.size // bs * bs].reshape(-1, bs)
    ce = np.mean([float(eval_loss(fit.variables, prep.data, jnp.asarray(r))[2]) for r in rows])
    # candidates: the untrained state (the heads = the softmax baseline, "epoch -1") and epochs
    scores = np.r_[fit.val_direction_loss_untrained, fit.val_direction_losses]
    assert scores.shape == (3,)
    assert fit.best_epoch == int(np.argmin(scores)) - 1
    assert ce == pytest.approx(scores.min(), rel=1e-5)


def test_untrained_direction_heads_are_the_softmax_regression(stream, fitted):
    """Oracle: at initialisation the direction heads (linear skip on the standardised hand
    features + the zero-started correction from the GRU state) give the logits of the softmax
    regression fitted independently on the raw hand features of the same rows, at every
    horizon, with a random encoder and GRU in between."""
    prep, fit = fitted
    fresh = _baseline_direction_skip(
        _init_variables(jax.random.key(4), fit.model_config, DCFG), prep.data, prep.fit_rows
    )
    rows = np.r_[prep.val_rows[:100], prep.test_rows[:100]]
    logits = _predict_raw(replace(fit, variables=fresh), prep.data, rows)[2]
    hand = np.asarray(F.microstructure_state(stream, DCFG.features).hand_features())
    labels = np.asarray(prep.data.direction)
    for j in range(len(DCFG.horizons)):
        (ref,) = M.softmax_regression_logits(hand[prep.fit_rows], labels[prep.fit_rows, j],
                                             hand[rows])  # fmt: skip
        assert np.ptp(ref) > 0.5  # the regression is not flat: the check has teeth
        np.testing.assert_allclose(logits[:, j], ref, rtol=2e-3, atol=2e-3)


def test_macro_f1_offsets_are_the_grid_optimum():
    """Against brute force over a coarse grid; ties go to the smallest offsets, so logits whose
    argmax is already perfect keep zero offsets."""
    rng = np.random.default_rng(3)
    y = rng.choice(3, 400, p=[0.45, 0.1, 0.45])
    logits = rng.normal(size=(400, 3)) + 0.6 * np.eye(3)[y]
    grid = np.arange(-1.5, 1.51, 0.25)
    off = M.macro_f1_offsets(logits, y, grid)

    def f1(o):
        return M.macro_f1(y, np.argmax(logits + o, axis=1), 3)

    brute = max(f1(np.array([0.0, a, b])) for a in grid for b in grid)
    assert f1(off) == pytest.approx(brute) and f1(off) > f1(np.zeros(3)) + 0.01
    np.testing.assert_array_equal(M.macro_f1_offsets(5.0 * np.eye(3)[y], y, grid), 0.0)


def test_paired_f1_difference_se_matches_replications():
    """The block bootstrap's SE of a macro-F1 difference against the spread over independent
    replications (blocks of 20 rows sharing their labels' noise); identical predictions give 0."""
    rng = np.random.default_rng(5)

    def draw():
        y = np.repeat(rng.choice(3, 60, p=[0.45, 0.1, 0.45]), 20)
        a = np.where(rng.random(y.size) < 0.6, y, rng.choice(3, y.size))
        b = np.where(rng.random(y.size) < 0.5, y, rng.choice(3, y.size))
        return y, a, b

    blocks = np.repeat(np.arange(60), 20)
    reps = [M.paired_f1_difference(*draw(), blocks, n_boot=100, seed=i) for i in range(40)]
    means, ses = np.array([r["mean"] for r in reps]), np.array([r["se_blocks"] for r in reps])
    assert np.median(ses) == pytest.approx(means.std(ddof=1), rel=0.35)
    y, a, _ = draw()
    assert M.paired_f1_difference(y, a, a, blocks) == {"mean": 0.0, "se_blocks": 0.0,
                                                       "n_blocks": 60}  # fmt: skip


def test_direction_offsets_raise_the_validation_f1_and_reload(fitted, tmp_path):
    """Offsets tuned on the validation rows score at least the plain argmax there; the report
    keeps the argmax scores (the same as an uncalibrated fit's) beside the tuned ones, and the
    softmax baseline gets offsets tuned the same way."""
    prep, fit = fitted
    cal = M.calibrate_direction_heads(fit, prep)
    assert cal.direction_offsets.shape == (2, 3)
    labels = np.asarray(prep.data.direction)[prep.val_rows]
    tuned = M.predict_world_model(cal, prep.data, prep.val_rows)[2]
    plain = M.predict_world_model(fit, prep.data, prep.val_rows)[2]
    for j in range(2):
        assert M.macro_f1(labels[:, j], tuned[:, j], 3) >= M.macro_f1(labels[:, j], plain[:, j], 3)
    r_cal = M.evaluate_world_model(cal, prep)
    y_test = np.asarray(prep.data.direction)[prep.test_rows]
    plain_test = M.predict_world_model(fit, prep.data, prep.test_rows)[2]
    for j, k in enumerate(("10", "20")):
        assert r_cal["macro_f1_raw_argmax"][k] == M.macro_f1(y_test[:, j], plain_test[:, j], 3)
    assert np.shape(r_cal["direction_offsets"]["softmax6"]) == (2, 3)
    back = M.load_world_model(M.save_world_model(tmp_path / "d.msgpack", cal))
    np.testing.assert_array_equal(back.direction_offsets, cal.direction_offsets)


def test_checkpoint_reloads_to_identical_predictions(fitted, tmp_path):
    prep, fit = fitted
    path = M.save_world_model(tmp_path / "wm.msgpack", fit)
    back = M.load_world_model(path)
    rows = prep.test_rows[:50]
    for a, b in zip(M.predict_world_model(fit, prep.data, rows),
                    M.predict_world_model(back, prep.data, rows), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


def test_shuffling_the_test_period_changes_no_trained_parameter(stream, test_start, fitted):
    """Leakage through training: the rows after the split (content shuffled) must leave the
    normaliser, class weights and every trained parameter bit-identical."""
    prep, fit = fitted
    times = np.asarray(stream.times_s)
    first_test = int(np.searchsorted(times, test_start))
    future = first_test + np.random.default_rng(0).permutation(len(times) - first_test)
    perm = np.r_[np.arange(first_test), future]
    shuffled = jax.tree_util.tree_map(lambda x: x[perm], stream).replace(times_s=stream.times_s)
    prep2 = M.prepare_world_data(shuffled, DCFG, test_start)
    np.testing.assert_array_equal(prep.train_rows, prep2.train_rows)
    np.testing.assert_array_equal(prep.data.class_weight, prep2.data.class_weight)
    fit2 = _fit(prep2)
    leaves = [jax.tree_util.tree_leaves((f.variables, f.normalizer)) for f in (fit, fit2)]
    # the direction offsets are tuned on validation rows only
    offsets = [M.calibrate_direction_heads(f, p).direction_offsets
               for f, p in ((fit, prep), (fit2, prep2))]  # fmt: skip
    np.testing.assert_array_equal(*offsets)
    for a, b in zip(*leaves, strict=True):
        np.testing.assert_array_equal(a, b)
    # the shuffled future does change the test labels: the check above could fail
    assert not np.array_equal(
        prep.data.direction[prep.test_rows], prep2.data.direction[prep.test_rows]
    )


def test_moving_the_split_keeps_features_and_labels(stream, test_start, fitted):
    prep, _ = fitted
    later = M.prepare_world_data(stream, DCFG, test_start + 5.0, normalizer=prep.normalizer)
    np.testing.assert_array_equal(prep.data.lob, later.data.lob)
    np.testing.assert_array_equal(prep.data.direction, later.data.direction)
    assert set(prep.train_rows) < set(later.train_rows)
    assert later.test_rows.min() > prep.test_rows.min()


def test_report_has_the_issue_schema_and_closed_form_baselines(fitted):
    prep, fit = fitted
    r = M.evaluate_world_model(fit, prep)
    for key in ("nll_10s", "nll_unconditional", "nll_ewma", "nll_nowcast", "n_test"):
        assert np.isfinite(r[key])
    assert set(r["macro_f1_raw"]) == {"10", "20"} and set(r["smoothed"]) == {"10", "20"}
    y, tr, te = prep.grid_y_bps, prep.grid_train, prep.grid_test
    mu, var = y[tr].mean(), y[tr].var()
    ref = np.mean(0.5 * np.log(2 * np.pi * var) + (y[te] - mu) ** 2 / (2 * var))
    assert r["nll_unconditional"] == pytest.approx(ref, rel=1e-9)
    assert r["n_test"] == int(te.sum()) > 0


def test_untrained_price_head_is_exactly_the_ewma_baseline(fitted):
    """The order-flow head starts at zero: an untrained model's test-interval forecast is the
    EWMA baseline's N(0, v) (computed independently on the grid), so training can only move
    it away from the baseline where the data ask for it; the paired difference is then 0."""
    prep, fit = fitted
    fresh = replace(fit, variables=_init_variables(jax.random.key(9), fit.model_config, DCFG))
    te = prep.grid_test
    mean, log_var, _ = M.predict_world_model(
        fresh, prep.data, prep.grid_rows[te], prep.grid_prior_log_var[te]
    )
    y = prep.grid_y_bps
    # the baseline starts its EWMA at the grid intervals' training variance, the prior at the
    # rows' label variance (the two agree once the start is forgotten, 0.94^k): same start here
    var0 = float(np.exp(prep.normalizer.price_log_var))
    ewma = (np.zeros(te.sum()), M.ewma_variance(y, var0)[te])
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_allclose(np.exp(log_var), ewma[1], rtol=1e-5)
    d = M.paired_nll_difference(y[te], (mean, np.exp(np.asarray(log_var, np.float64))), ewma)
    assert abs(d["mean"]) < 1e-6 and d["se"] < 1e-6


def test_price_prior_is_causal():
    """The per-row EWMA prior at row i, computed on the stream cut after row i, is the same:
    it reads nothing after the row (a label would leak through it otherwise)."""
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.exponential(0.7, 400)) + 0.3
    mid = 1e4 + np.cumsum(rng.choice([-0.5, 0.0, 0.5], 400))
    full, grid = M.ewma_prior_log_var(times, mid, 5.0, 4.0)
    assert grid.size > 40 and np.unique(full).size > 20  # the prior moves: the check has teeth
    for i in rng.choice(400, 25, replace=False):
        cut, _ = M.ewma_prior_log_var(times[: i + 1], mid[: i + 1], 5.0, 4.0)
        assert cut[-1] == full[i]
    # the grid forecast for interval j uses the grid changes before j only (closed form)
    y = np.diff(mid[np.searchsorted(times, np.arange(5.0, times[-1], 5.0), "right") - 1])
    y = y / mid[np.searchsorted(times, np.arange(5.0, times[-1], 5.0), "right") - 1][:-1] * 1e4
    v = [4.0]
    for yi in y[:-1]:
        v.append(0.94 * v[-1] + 0.06 * yi**2)
    np.testing.assert_allclose(np.exp(grid), v, rtol=1e-5)


def test_baseline_helpers_against_closed_forms():
    y = np.array([1.0, -2.0, 0.5, 3.0])
    v = M.ewma_variance(y, 2.0, lam=0.9)
    ref = [2.0]
    for yi in y[:-1]:
        ref.append(0.9 * ref[-1] + 0.1 * yi**2)
    np.testing.assert_allclose(v, ref, rtol=1e-6)
    f1 = M.macro_f1([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 3)
    assert f1 == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    labels = np.digitize(x[:, 0], [-0.5, 0.5])  # three classes by thresholds on one feature
    assert M.macro_f1(labels, M.softmax_regression(x, labels, x), 3) > 0.9


def test_single_state_inference_step_runs_jitted():
    cfg = M.WorldModelConfig(**SMALL)
    model = M.OrderBookWorldModel(cfg)
    v = model.init(jax.random.key(0), jnp.zeros(cfg.gru_hidden), jnp.zeros(4), jnp.zeros(16),
                   method=model.infer)  # fmt: skip
    step = jax.jit(lambda v, h, lob, flow: model.apply(v, h, lob, flow, method=model.infer))
    action, h, pred = step(v, jnp.zeros(cfg.gru_hidden), jnp.ones(4), jnp.ones(16))
    assert 0 <= int(action) < len(M.Action) and h.shape == (cfg.gru_hidden,)
    assert pred.direction_logits.shape == (cfg.n_horizons, 3)


def test_price_calibration_lowers_the_validation_nll_and_reloads(fitted, tmp_path):
    prep, fit = fitted
    cal = M.calibrate_price_head(fit, prep)
    assert cal.price_calibration != (1.0, 1.0) and 0.0 <= cal.price_calibration[0] <= 1.0
    t0 = float(np.asarray(prep.stream.times_s)[prep.val_rows.min()])
    sel = prep.grid_train & (prep.grid_s >= t0)
    y = prep.grid_y_bps[sel]

    def nll(f):
        m, lv, _ = M.predict_world_model(
            f, prep.data, prep.grid_rows[sel], prep.grid_prior_log_var[sel]
        )
        return M.gaussian_nll(y, m, np.exp(np.asarray(lv, np.float64)))

    assert nll(cal) <= nll(fit) + 1e-9
    back = M.load_world_model(M.save_world_model(tmp_path / "c.msgpack", cal))
    assert back.price_calibration == pytest.approx(cal.price_calibration)


def test_transfer_to_another_ticker_without_refitting(fitted):
    """The AMZN fit scores AAPL rows (first level) with AMZN's normaliser; nothing is refitted."""
    prep, fit = fitted
    aapl = F.stream_from_lobster(load_lobster(*AAPL), levels=1)
    other = M.prepare_world_data(aapl, DCFG, float(aapl.times_s[0]), normalizer=prep.normalizer)
    n = prep.normalizer
    raw = F.microstructure_state(aapl).lob_vector()
    np.testing.assert_allclose(other.data.lob * n.lob_std + n.lob_mean, raw, rtol=1e-5, atol=1e-5)
    r = M.evaluate_world_model(fit, other, baseline_prep=prep)
    assert r["n_test_events"] == other.test_rows.size > 0
    # 300 rows span under two 2 s grid intervals: no interval to score, reported as NaN
    assert r["n_test"] == int(other.grid_test.sum()) == 0 and np.isnan(r["nll_10s"])
    assert all(0 <= v <= 1 for v in r["macro_f1_raw"].values())
    # an uncalibrated fit: both models' reported rule is the plain argmax
    assert r["macro_f1_raw"] == r["macro_f1_raw_argmax"]
    assert r["macro_f1_raw_softmax6"] == r["macro_f1_raw_softmax6_argmax"]
