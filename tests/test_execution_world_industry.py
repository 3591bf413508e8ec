"""Pre-trade formulas pinned to the paper: ATHL (2005) worked examples, volume time."""

import numpy as np
import pytest

import wmjax as wm
from wmjax.analytics import athl_cost_bps, industry_estimates, volume_time_days
from wmjax.execution import order
from wmjax.market import impact_params, u_shaped_profile

# Almgren, Thum, Hauptmann & Li (2005), section 5: X = 10% of ADV, J (bps) at T = 0.1/0.2/0.5 days
PAPER_EXAMPLES = {
    "DRI": (1.929e6, 168e6, 0.0226, (43, 32, 23)),
    "IBM": (6.561e6, 1.728e9, 0.0157, (32, 25, 18)),
}


@pytest.mark.parametrize("name", sorted(PAPER_EXAMPLES))
def test_athl_reproduces_paper_worked_examples(name):
    adv, outstanding, sigma, expected = PAPER_EXAMPLES[name]
    for t, j_paper in zip((0.1, 0.2, 0.5), expected, strict=True):
        out = athl_cost_bps(0.1 * adv, adv, sigma, t, outstanding)
        assert round(out["J_bps"]) == j_paper, (name, t, out["J_bps"])
        # the paper's decomposition J = I / 2 + K and the permanent term does not depend on T
        assert out["J_bps"] == pytest.approx(out["I_bps"] / 2 + out["K_bps"])
        assert out["total_bps"] == pytest.approx(out["J_bps"])


def test_athl_temporary_term_scales_as_three_fifths_of_the_rate():
    base = athl_cost_bps(1e5, 1e6, 0.02, 0.2)
    slower = athl_cost_bps(1e5, 1e6, 0.02, 0.4)
    assert slower["K_bps"] / base["K_bps"] == pytest.approx(0.5**0.6, rel=1e-9)
    assert slower["I_bps"] == pytest.approx(base["I_bps"])


def test_volume_time_differs_from_clock_time_on_a_u_shaped_day():
    # the first tenth of a U-shaped day carries more than a tenth of its volume
    frac = u_shaped_profile(10, 0.0, 0.1)
    t_volume = volume_time_days(frac)
    assert t_volume > 0.1
    mp = impact_params(10, volume_frac=frac, sigma=1.0, arrival_price=50.0, epsilon=0.0)
    o = order(5e5, 0.1)
    est = industry_estimates(o, mp)["athl_2005"]
    direct = athl_cost_bps(5e5, 5e6, 1.0 / 50.0, t_volume)
    clock = athl_cost_bps(5e5, 5e6, 1.0 / 50.0, 0.1)
    assert est["J_bps"] == pytest.approx(direct["J_bps"], rel=1e-5)
    assert est["J_bps"] < clock["J_bps"]


def test_volume_time_rejects_bad_profiles():
    with pytest.raises(wm.InputError, match="volume_frac"):
        volume_time_days(np.array([0.1, -0.2]))
