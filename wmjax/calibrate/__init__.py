"""Fitting Hawkes processes: maximum likelihood (optax L-BFGS, decays included), Bayesian
posteriors (numpyro NUTS on the exact log-likelihood), and the book's order flow (`fit_flow`)."""

from wmjax.calibrate._bayes import BayesResult, fit_bayes
from wmjax.calibrate._flow import FlowCalibration, fit_flow
from wmjax.calibrate._mle import FitResult, fit_mle

__all__ = ["BayesResult", "FitResult", "FlowCalibration", "fit_bayes", "fit_flow", "fit_mle"]
