"""Fitting: Hawkes processes (maximum likelihood with optax L-BFGS, decays included; Bayesian
posteriors with numpyro NUTS on the exact log-likelihood), the book's order flow (`fit_flow`),
Engle-Granger cointegration tests and Avellaneda & Lee OU fits of spreads, and intraday
volume-profile forecasts (historical curve, power-mean curve with a calendar closing uplift,
Bialkowski-Darolles-Le Fol, Kalman filter) fitted
rolling out of sample."""

from wmjax.calibrate._bayes import (
    BayesResult,
    fit_bayes,
)
from wmjax.calibrate._bayes_batch import (
    BayesBatchResult,
    fit_bayes_batch,
)
from wmjax.calibrate._cointegration import (
    EG_CRITICAL_SURFACE,
    EngleGranger,
    adf_stat,
    eg_critical_value,
    engle_granger,
    ols_hedge,
)
from wmjax.calibrate._flow import (
    FlowCalibration,
    fit_flow,
)
from wmjax.calibrate._hawkes_em import fit_hawkes_em
from wmjax.calibrate._hawkes_models import (
    ModelFit,
    fit_hawkes_model,
    score_hawkes_model,
)
from wmjax.calibrate._inputs import (
    LateStartWarning,
    late_start_gap,
)
from wmjax.calibrate._mle import (
    FitResult,
    fit_mle,
    fit_mle_batch,
)
from wmjax.calibrate._ou_fit import (
    AL_MIN_KAPPA_PER_YEAR,
    AL_WINDOW_DAYS,
    OUFit,
    fit_ou_ar1,
    mean_reverting,
    ou_from_ar1,
    rolling_ou_fit,
)
from wmjax.calibrate._volume_kalman import (
    KalmanVolumeParams,
    fit_kalman_volume,
    kalman_beliefs,
    kalman_filter_volume,
)
from wmjax.calibrate._volume_profile import (
    bdf_beliefs,
    check_volume,
    dynamic_beliefs,
    rolling_mean_beliefs,
    static_beliefs,
)
from wmjax.calibrate._volume_static import (
    PowerCurveParams,
    calendar_days,
    fit_power_curve,
    power_curve,
    power_curve_beliefs,
    trailing_power_mean,
)

__all__ = [
    "AL_MIN_KAPPA_PER_YEAR",
    "AL_WINDOW_DAYS",
    "EG_CRITICAL_SURFACE",
    "BayesBatchResult",
    "BayesResult",
    "EngleGranger",
    "FitResult",
    "FlowCalibration",
    "KalmanVolumeParams",
    "LateStartWarning",
    "ModelFit",
    "OUFit",
    "PowerCurveParams",
    "adf_stat",
    "bdf_beliefs",
    "calendar_days",
    "check_volume",
    "dynamic_beliefs",
    "eg_critical_value",
    "engle_granger",
    "fit_bayes",
    "fit_bayes_batch",
    "fit_flow",
    "fit_hawkes_em",
    "fit_hawkes_model",
    "fit_kalman_volume",
    "fit_mle",
    "fit_mle_batch",
    "fit_ou_ar1",
    "fit_power_curve",
    "kalman_beliefs",
    "kalman_filter_volume",
    "late_start_gap",
    "mean_reverting",
    "ols_hedge",
    "ou_from_ar1",
    "power_curve",
    "power_curve_beliefs",
    "rolling_mean_beliefs",
    "rolling_ou_fit",
    "score_hawkes_model",
    "static_beliefs",
    "trailing_power_mean",
]
