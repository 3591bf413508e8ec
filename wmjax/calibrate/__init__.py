"""Fitting Hawkes processes: maximum likelihood (optax L-BFGS, decays included) and Bayesian
posteriors (numpyro NUTS on the exact log-likelihood); intraday volume-profile forecasts (historical
curve, Bialkowski-Darolles-Le Fol, Kalman filter) fitted rolling out of sample."""

from wmjax.calibrate._bayes import BayesResult, fit_bayes
from wmjax.calibrate._mle import FitResult, fit_mle
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

__all__ = [
    "BayesResult",
    "FitResult",
    "KalmanVolumeParams",
    "bdf_beliefs",
    "check_volume",
    "dynamic_beliefs",
    "fit_bayes",
    "fit_kalman_volume",
    "fit_mle",
    "kalman_beliefs",
    "kalman_filter_volume",
    "rolling_mean_beliefs",
    "static_beliefs",
]
