"""The joint objective of the order-book world model, one jitted training step (compiled once per
configuration), prediction on held-out rows, and checkpoints.

Loss (per sequence step, averaged): the latent dynamics term, MSE of the predicted next latent to
the stop-gradient encoded next latent plus 0.1 x the representation term with the stop-gradient
on the other side (DreamerV3, Hafner et al. 2023, with a free floor); the Gaussian NLL of the
price head (mid change over the clock horizon, bps); class-weighted cross-entropy of the
direction heads; MSE of the next spread and imbalance; and, with weight 0.1, the policy loss:
cross-entropy to a buyer's hindsight-best action plus the value's squared error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization

from wmjax._checks import InputError, positive_int
from wmjax.features import FeatureConfig
from wmjax.models._world import Action, OrderBookWorldModel, WorldModelConfig
from wmjax.models._world_baselines import softmax_regression_weights
from wmjax.models._world_data import Normalizer, WorldData, WorldDataConfig, gather

_HALF_LOG_2PI = 0.5 * float(np.log(2 * np.pi))
FREE_LATENT_MSE = 1e-3
POLICY_WEIGHT = 0.1


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings: Adam learning rate, batch size (sequences), gradient clip, and the
    weight of the direction cross-entropy in the joint loss."""

    learning_rate: float = 3e-4
    batch_size: int = 256
    clip_norm: float = 1.0
    direction_weight: float = 1.0


#: the price head's log variance stays within this many nats of its prior, the EWMA variance
#: known at the row (heteroscedastic heads overfit overlapping 10 s labels otherwise)
LOG_VAR_RANGE = 1.5


def _price_head(mean_raw, log_var_raw, prior_log_var):
    """(mean bps, log variance): the prior N(0, EWMA variance) corrected by the head's outputs,
    the log-variance change bounded to +-`LOG_VAR_RANGE`; zero outputs give the prior."""
    log_var = prior_log_var + LOG_VAR_RANGE * jnp.tanh(log_var_raw / LOG_VAR_RANGE)
    return mean_raw, log_var


def _loss(
    model: OrderBookWorldModel, dcfg: WorldDataConfig, variables, data: WorldData, rows,
    direction_weight: float = 1.0,
):  # fmt: skip
    b = gather(data, rows, dcfg)
    h0 = jnp.zeros((rows.shape[0], model.config.gru_hidden))
    actions = jnp.full(b.rows.shape, Action.WAIT, jnp.int32)
    prior = data.price_prior_log_var[b.rows]
    _, out = model.apply(
        variables, h0, b.lob, b.flow, b.history, actions, prior - data.price_log_var, b.hand
    )
    z_next = model.apply(variables, b.next_lob, b.next_flow, method=lambda m, a, f: m.encoder(a, f))
    pred = out.prediction
    dyn = jnp.mean((pred.next_latent - jax.lax.stop_gradient(z_next)) ** 2)
    rep = jnp.mean((jax.lax.stop_gradient(pred.next_latent) - z_next) ** 2)
    latent = jnp.maximum(dyn, FREE_LATENT_MSE) + 0.1 * jnp.maximum(rep, FREE_LATENT_MSE)
    y = data.price_bps[b.rows]
    mean, log_var = _price_head(out.price_mean_bps, out.price_log_var, prior)
    nll = jnp.mean(0.5 * log_var + 0.5 * (y - mean) ** 2 * jnp.exp(-log_var) + _HALF_LOG_2PI)
    labels = data.direction[b.rows]  # (B, T, H)
    logp = jax.nn.log_softmax(pred.direction_logits)
    picked = jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
    w = jnp.take_along_axis(
        jnp.broadcast_to(data.class_weight, (*labels.shape, 3)), labels[..., None], axis=-1
    )[..., 0]
    ce = -jnp.sum(w * picked) / jnp.sum(w)
    state = jnp.mean((pred.spread - data.spread_symlog[b.next_rows]) ** 2) + jnp.mean(
        (pred.imbalance - data.imbalance[b.next_rows]) ** 2
    )
    pol = optax.softmax_cross_entropy_with_integer_labels(
        out.policy_logits, data.policy_target[b.rows]
    ).mean() + 0.5 * jnp.mean((out.value + jnp.tanh(y / 10.0)) ** 2)
    total = latent + nll + direction_weight * ce + state + POLICY_WEIGHT * pol
    parts = {"latent": dyn, "nll": nll, "direction_ce": ce, "state": state, "policy": pol}
    return total, parts


@lru_cache(maxsize=8)
def _compiled(mcfg: WorldModelConfig, dcfg: WorldDataConfig, tcfg: TrainConfig):
    """(model, optimizer, jitted train step, jitted predict) for one static configuration."""
    model = OrderBookWorldModel(mcfg)
    opt = optax.chain(optax.clip_by_global_norm(tcfg.clip_norm), optax.adam(tcfg.learning_rate))

    @jax.jit
    def train_step(variables, opt_state, data, rows):
        (loss, parts), grads = jax.value_and_grad(
            lambda v: _loss(model, dcfg, v, data, rows, tcfg.direction_weight), has_aux=True
        )(variables)
        updates, opt_state = opt.update(grads, opt_state, variables)
        return optax.apply_updates(variables, updates), opt_state, loss, parts

    @jax.jit
    def eval_loss(variables, data, rows):
        """(joint loss, price NLL, direction cross-entropy) on the rows."""
        total, parts = _loss(model, dcfg, variables, data, rows, tcfg.direction_weight)
        return total, parts["nll"], parts["direction_ce"]

    @jax.jit
    def predict(variables, data, rows, last_prior):
        b = gather(data, rows, dcfg)
        h0 = jnp.zeros((rows.shape[0], mcfg.gru_hidden))
        actions = jnp.full(b.rows.shape, Action.WAIT, jnp.int32)
        prior = data.price_prior_log_var[b.rows].at[:, -1].set(last_prior)
        rel = prior - data.price_log_var
        _, out = model.apply(variables, h0, b.lob, b.flow, b.history, actions, rel, b.hand)
        prior = prior[:, -1]
        mean, log_var = _price_head(out.price_mean_bps[:, -1], out.price_log_var[:, -1], prior)
        return mean, log_var, out.prediction.direction_logits[:, -1]

    return model, opt, train_step, predict, eval_loss


def _init_variables(key, mcfg: WorldModelConfig, dcfg: WorldDataConfig) -> dict:
    """Fresh variables of `OrderBookWorldModel(mcfg)` for sequences of `dcfg.seq_len` rows."""
    s = dcfg.seq_len
    return OrderBookWorldModel(mcfg).init(
        key, jnp.zeros((1, mcfg.gru_hidden)), jnp.zeros((1, s, mcfg.lob_dim)),
        jnp.zeros((1, s, mcfg.flow_dim)),
        jnp.zeros((1, s, dcfg.history, mcfg.history_channels)), jnp.zeros((1, s), jnp.int32),
    )  # fmt: skip


def _baseline_direction_skip(variables: dict, data: WorldData, rows) -> dict:
    """`variables` with the direction heads' linear skip set to the softmax regression on the
    hand features fitted on `rows` (`softmax_regression_weights`, one per horizon, on the
    standardised inputs); with the correction at its zero start the heads then give that
    regression's logits."""
    rows = np.asarray(rows)
    hand = np.asarray(data.hand)[rows]
    labels = np.asarray(data.direction)[rows]
    fitted = [softmax_regression_weights(hand, y) for y in labels.T]
    kernel = np.concatenate([k for k, _ in fitted], axis=1)  # (6, 3 H), horizon-major
    bias = np.concatenate([b for _, b in fitted])
    params = variables["params"]
    dyn = params["dynamics"]
    skip = {"kernel": jnp.asarray(kernel, jnp.float32), "bias": jnp.asarray(bias, jnp.float32)}
    return {**variables, "params": {**params, "dynamics": {**dyn, "direction_skip": skip}}}


@dataclass
class WorldModelFit:
    """A fitted world model: configuration, variables, input normaliser, learning curve."""

    model_config: WorldModelConfig
    data_config: WorldDataConfig
    train_config: TrainConfig
    variables: dict
    normalizer: Normalizer
    losses: np.ndarray  # (epochs,) mean training loss per epoch
    val_losses: np.ndarray  # (epochs,) joint loss on the validation rows (empty without them)
    #: the epoch of the encoder's, dynamics' and policy's variables (lowest validation direction
    #: cross-entropy, else the last; -1: untrained, the direction heads = the softmax baseline)
    best_epoch: int
    seconds: float  # training wall time, compilation included
    compile_seconds: float
    samples_per_s: float  # sequences per second after compilation
    #: the epoch of the order-flow model's variables (lowest validation price NLL; -1: untrained,
    #: i.e. the EWMA prior itself), kept beside the other modules' `best_epoch`
    best_price_epoch: int = -1
    #: (mean shrink s, variance scale c) fitted on validation intervals by `calibrate_price_head`:
    #: mean = s mean, variance = c variance; (1, 1) = uncalibrated
    price_calibration: tuple[float, float] = (1.0, 1.0)
    #: (epochs,) direction cross-entropy on the validation rows (empty without them)
    val_direction_losses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: (H, 3) offsets added to the direction logits before the argmax, tuned for macro-F1 on
    #: validation rows by `calibrate_direction_heads`; None = the plain argmax
    direction_offsets: np.ndarray | None = None
    #: validation direction cross-entropy at the start (the direction heads = the softmax
    #: regression fitted on the training rows)
    val_direction_loss_untrained: float = float("nan")


def model_config_for(data: WorldData, **overrides) -> WorldModelConfig:
    """The default shapes with the input widths of `data`."""
    return WorldModelConfig(
        lob_dim=data.lob.shape[1],
        flow_dim=data.flow.shape[1],
        history_channels=data.event_flow.shape[1],
        hand_dim=data.hand.shape[1],
        n_horizons=data.direction.shape[1],
        **overrides,
    )


def fit_world_model(
    key,
    data: WorldData,
    normalizer: Normalizer,
    train_rows,
    data_config: WorldDataConfig,
    *,
    epochs: int = 3,
    train_config: TrainConfig = TrainConfig(),
    model_config: WorldModelConfig | None = None,
    val_rows=None,
    callback: Callable[[int, int, float], None] | None = None,
) -> WorldModelFit:
    """Train on the rows `train_rows` (sequence ends) for `epochs` passes in shuffled batches
    (the last partial batch of an epoch is dropped). With `val_rows` (later rows of the training
    period, split off with a gap) each part is early-stopped on its own validation score: the
    order-flow model on the price NLL (its untrained state, the EWMA prior, is a candidate), the
    rest (encoder, dynamics, policy) on the direction cross-entropy, what the dynamics' heads
    are judged on (the joint loss would let the price head's overfitting pick their epoch).
    The direction heads' linear skip starts as the softmax regression on the hand features
    fitted on `train_rows` and their correction at zero, so the untrained state (a candidate
    of the early stopping, "epoch -1") is that baseline re-fitted.
    `callback(epoch, step, loss)` after each epoch (one host sync)."""
    epochs = positive_int("epochs", epochs)
    train_rows = np.asarray(train_rows)
    bs = train_config.batch_size
    if train_rows.size < bs:
        raise InputError(
            f"only {train_rows.size} training rows for batch size {bs}: give more data or a "
            "later --test-start"
        )
    mcfg = model_config or model_config_for(data)
    _, opt, train_step, _, eval_loss = _compiled(mcfg, data_config, train_config)
    k_init, k_shuffle = jax.random.split(key)
    variables = _init_variables(k_init, mcfg, data_config)
    variables = _baseline_direction_skip(variables, data, train_rows)
    opt_state = opt.init(variables)
    steps = train_rows.size // bs
    start = time.perf_counter()
    first = jnp.asarray(train_rows[:bs])
    jax.block_until_ready(train_step(variables, opt_state, data, first))  # compile, discarded
    compile_s = time.perf_counter() - start
    losses, val_losses, val_ce = [], [], []
    best = (np.inf, epochs - 1, variables)
    val_batches = None
    if val_rows is not None and np.size(val_rows) >= bs:
        v = np.asarray(val_rows)
        val_batches = jnp.asarray(v[: v.size // bs * bs].reshape(-1, bs))

    def validate(variables):
        scores = jnp.stack([jnp.stack(eval_loss(variables, data, r)) for r in val_batches])
        return np.asarray(jnp.mean(scores, axis=0), np.float64)  # (joint, price NLL, direction)

    # the order-flow model is early-stopped on its own validation NLL; "epoch -1" is its
    # untrained state, the EWMA prior, kept when training never improves on it
    best_flow = (np.inf, epochs - 1, variables["params"]["flow_model"])
    ce_untrained = np.nan
    if val_batches is not None:
        _, nll_untrained, ce_untrained = validate(variables)
        best_flow = (nll_untrained, -1, variables["params"]["flow_model"])
        best = (ce_untrained, -1, variables)
    run_start = time.perf_counter()
    for epoch in range(epochs):
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(k_shuffle, epoch), train_rows))
        batches = jnp.asarray(perm[: steps * bs].reshape(steps, bs))
        epoch_losses = []
        for i in range(steps):
            variables, opt_state, loss, _ = train_step(variables, opt_state, data, batches[i])
            epoch_losses.append(loss)
        mean_loss = float(jnp.mean(jnp.stack(epoch_losses)))
        if not np.isfinite(mean_loss):
            raise InputError(f"training loss is {mean_loss} in epoch {epoch}: lower the rate")
        losses.append(mean_loss)
        if val_batches is not None:
            val, val_nll, ce = validate(variables)
            val_losses.append(val)
            val_ce.append(ce)
            if ce < best[0]:
                best = (ce, epoch, variables)
            if val_nll < best_flow[0]:
                best_flow = (val_nll, epoch, variables["params"]["flow_model"])
        if callback is not None:
            callback(epoch, (epoch + 1) * steps, mean_loss)
    run_s = time.perf_counter() - run_start
    if val_batches is None:
        best = (np.nan, epochs - 1, variables)
        best_flow = (np.nan, epochs - 1, variables["params"]["flow_model"])
    kept = {**best[2], "params": {**best[2]["params"], "flow_model": best_flow[2]}}
    return WorldModelFit(
        model_config=mcfg,
        data_config=data_config,
        train_config=train_config,
        variables=kept,
        normalizer=normalizer,
        losses=np.asarray(losses),
        val_losses=np.asarray(val_losses),
        best_epoch=best[1],
        seconds=compile_s + run_s,
        compile_seconds=compile_s,
        samples_per_s=epochs * steps * bs / max(run_s, 1e-9),
        best_price_epoch=best_flow[1],
        val_direction_losses=np.asarray(val_ce),
        val_direction_loss_untrained=float(ce_untrained),
    )


def predict_world_model(
    fit: WorldModelFit, data: WorldData, rows, prior_log_var=None, chunk: int = 2048
):
    """(price mean bps, price log-variance, direction classes (R, H)) at `rows` (R,), in fixed
    chunks so one compiled program serves any R; the price head's calibration and the
    direction offsets applied. `prior_log_var` (R,) replaces the rows' price prior (e.g. the
    EWMA forecast at a clock-grid time, which has seen the whole last interval; default: the
    rows' own)."""
    mean, log_var, logits = _predict_raw(fit, data, rows, prior_log_var, chunk)
    shrink, scale = fit.price_calibration
    if fit.direction_offsets is not None:
        logits = logits + np.asarray(fit.direction_offsets, np.float32)
    classes = np.argmax(logits, axis=-1).astype(np.int32)
    return shrink * mean, log_var + np.float32(np.log(scale)), classes


def _predict_raw(fit: WorldModelFit, data: WorldData, rows, prior_log_var=None, chunk: int = 2048):
    """(price mean bps, price log-variance, direction logits (R, H, 3)) at `rows` as the
    networks give them: no calibration, no offsets."""
    _, _, _, predict, _ = _compiled(fit.model_config, fit.data_config, fit.train_config)
    rows = np.asarray(rows, np.int64)
    if rows.size == 0:
        h = len(fit.data_config.horizons)
        return np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, h, 3), np.float32)
    if prior_log_var is None:
        prior_log_var = np.asarray(data.price_prior_log_var)[rows]
    pad = (-rows.size) % chunk
    padded = np.concatenate([rows, np.zeros(pad, rows.dtype)]).reshape(-1, chunk)
    priors = np.r_[np.asarray(prior_log_var, np.float32), np.zeros(pad, np.float32)]
    priors = priors.reshape(-1, chunk)
    outs = [
        predict(fit.variables, data, jnp.asarray(r), jnp.asarray(p))
        for r, p in zip(padded, priors, strict=True)
    ]
    return tuple(np.concatenate([np.asarray(o[j]) for o in outs])[: rows.size] for j in range(3))


def save_world_model(path, fit: WorldModelFit) -> Path:
    """Write variables and normaliser (flax msgpack) and the configuration (JSON beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(serialization.to_bytes({"v": fit.variables, "n": fit.normalizer}))
    meta = {
        "model": asdict(fit.model_config),
        "data": asdict(fit.data_config),
        "train": asdict(fit.train_config),
        "price_calibration": list(fit.price_calibration),
        "best_price_epoch": fit.best_price_epoch,
        "direction_offsets": None
        if fit.direction_offsets is None
        else np.asarray(fit.direction_offsets).tolist(),
    }
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def load_world_model(path) -> WorldModelFit:
    """Read a checkpoint written by `save_world_model` (the learning curve is not stored)."""
    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise FileNotFoundError(f"world-model checkpoint {path} (and {meta_path}) not found")
    meta = json.loads(meta_path.read_text())
    d = meta["data"]
    feat = d.pop("features")
    feat = FeatureConfig(
        event_windows=tuple(feat["event_windows"]),
        clock_windows_s=tuple(feat["clock_windows_s"]),
        vol_window_events=feat["vol_window_events"],
    )
    dcfg = WorldDataConfig(**{**d, "horizons": tuple(d["horizons"]), "features": feat})
    mcfg = WorldModelConfig(**meta["model"])
    tcfg = TrainConfig(**meta["train"])
    variables = _init_variables(jax.random.key(0), mcfg, dcfg)
    zeros = (jnp.zeros(mcfg.lob_dim), jnp.zeros(mcfg.flow_dim), jnp.zeros(mcfg.history_channels))
    blocks = [z for z in zeros for _ in range(2)]
    hand = jnp.zeros(mcfg.hand_dim)
    template = {"v": variables, "n": Normalizer(*blocks, jnp.float32(0), hand, hand)}
    state = serialization.from_bytes(template, path.read_bytes())
    none = np.zeros(0)
    cal = tuple(meta.get("price_calibration", (1.0, 1.0)))
    offsets = meta.get("direction_offsets")
    return WorldModelFit(
        mcfg, dcfg, tcfg, state["v"], state["n"], none, none, -1, 0.0, 0.0, 0.0,
        meta.get("best_price_epoch", -1), cal, none,
        None if offsets is None else np.asarray(offsets, np.float32),
    )  # fmt: skip
