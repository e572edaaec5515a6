"""Stability verdicts and curve statistics, each label on a constructed history."""
import math

import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.report.verdicts import Thresholds, curve_stats, verdict

DONE = {"status": "completed", "step": 800, "reason": None}


def evals(values, metric="modes_covered", every=100):
    return pd.DataFrame({"step": [every * (i + 1) for i in range(len(values))], metric: values})


def history(grad_g, loss_d, every=50):
    return pd.DataFrame({"step": [every * (i + 1) for i in range(len(grad_g))], "grad_norm_g": grad_g,
                         "loss_d": loss_d, "grad_norm_d": [1.0] * len(grad_g)})


HEALTHY = history([0.5] * 16, [1.3] * 16)


def test_diverged_keeps_step_and_reason():
    v = verdict({"status": "diverged", "step": 123, "reason": "loss_d is NaN"}, HEALTHY, evals([8, 8]), 8,
                "modes_covered")
    assert (v.label, v.step, v.reason) == ("diverged", 123, "loss_d is NaN")


def test_stable():
    v = verdict(DONE, HEALTHY, evals([2, 5, 8, 8, 8, 8, 8, 8]), 8, "modes_covered")
    assert v.label == "stable" and v.flags == ()


def test_collapsed_when_modes_fall_and_stay():
    v = verdict(DONE, HEALTHY, evals([8, 8, 6, 2, 1, 1, 1, 1]), 8, "modes_covered")
    assert v.label == "collapsed" and v.step == 400


@pytest.mark.parametrize("modes", [[8, 2, 1, 8], [8, 8, 8, 2]])
def test_not_collapsed_when_it_recovers_or_only_the_last_evaluation_is_low(modes):
    assert verdict(DONE, HEALTHY, evals(modes), 8, None).label == "stable"


def test_collapse_fraction_is_a_parameter():
    e = evals([8, 8, 3, 3, 3])
    assert verdict(DONE, HEALTHY, e, 8, None).label == "collapsed"  # 3 <= 0.5 * 8
    assert verdict(DONE, HEALTHY, e, 8, None, Thresholds(collapse_fraction=0.25)).label == "stable"  # 3 > 2
    assert verdict(DONE, HEALTHY, e, None, None).label == "stable"  # modes unknown: not judged


def test_oscillating_modes_late_in_training():
    v = verdict(DONE, HEALTHY, evals([8, 8, 8, 5, 8, 4, 8, 5]), 8, "modes_covered")
    assert v.label == "oscillating" and v.step == 400  # late window: steps >= 400 of 800
    # the same swing early, then steady: stable
    assert verdict(DONE, HEALTHY, evals([8, 4, 8, 8, 8, 8, 8, 8]), 8, "modes_covered").label == "stable"


def test_oscillating_for_a_metric_without_modes_uses_its_scale():
    fd = [5.0, 1.0, 0.1, 2.0, 0.1, 2.0, 0.1, 2.0]
    v = verdict(DONE, HEALTHY, evals(fd, "frechet_distance"), None, "frechet_distance")
    assert v.label == "oscillating"
    steady = [5.0, 1.0, 0.1, 0.11, 0.1, 0.11, 0.1, 0.11]
    assert verdict(DONE, HEALTHY, evals(steady, "frechet_distance"), None, "frechet_distance").label == "stable"
    looser = Thresholds(oscillation_threshold=0.5)
    assert verdict(DONE, HEALTHY, evals(fd, "frechet_distance"), None, "frechet_distance", looser).label == "stable"


def test_vanishing_g_gradient_needs_both_small_g_gradient_and_zero_d_loss():
    g = [0.5] * 10 + [1e-6] * 6
    ld = [1.3] * 10 + [1e-4] * 6
    v = verdict(DONE, history(g, ld), evals([8] * 8), 8, "modes_covered")
    assert v.label == "vanishing-G-gradient" and v.step == 550
    # non-saturating G: tiny gradient but D's loss is not 0
    assert verdict(DONE, history(g, [1.3] * 16), evals([8] * 8), 8, "modes_covered").label == "stable"
    # only the very last row: shorter than 20% of the history
    assert verdict(DONE, history([0.5] * 15 + [1e-6], [1.3] * 15 + [1e-4]), None, 8, None).label == "stable"


def test_precedence_and_flags():
    status = {"status": "diverged", "step": 700, "reason": "gradient norm above 1e8"}
    v = verdict(status, HEALTHY, evals([8, 8, 2, 1, 1, 1]), 8, "modes_covered")
    assert v.label == "diverged" and v.flags == ("diverged", "collapsed")


def test_unknown_without_any_rows():
    assert verdict(DONE, pd.DataFrame(), pd.DataFrame(), 8, "modes_covered").label == "unknown"


def test_bad_thresholds_are_one_line_errors():
    with pytest.raises(HarnessError, match="late_fraction"):
        Thresholds(late_fraction=0.0)
    with pytest.raises(HarnessError, match="collapse_fraction"):
        Thresholds(collapse_fraction=-1)


def test_curve_statistics_known_answers():
    e = pd.DataFrame({"step": [0, 100, 200, 300], "m": [1.0, 3.0, 2.0, 2.0]})
    c = curve_stats(e, "m", higher_is_better=True, target=2.5)
    assert (c.best, c.best_step, c.final, c.final_step, c.gap) == (3.0, 100, 2.0, 300, 1.0)
    assert c.auc == pytest.approx(200 + 250 + 200)
    assert c.auc_per_step == pytest.approx(650 / 300)
    assert c.steps_to_target == 100
    low = curve_stats(e, "m", higher_is_better=False, target=1.5)
    assert (low.best, low.best_step, low.gap, low.steps_to_target) == (1.0, 0, 1.0, 0)
    never = curve_stats(e, "m", higher_is_better=True, target=10)
    assert math.isnan(never.steps_to_target)


def test_curve_statistics_skip_nan_and_missing_rows():
    e = pd.DataFrame({"step": [100, 200, 300], "m": [1.0, 2.0, float("nan")]})
    c = curve_stats(e, "m", higher_is_better=True)
    assert (c.final, c.final_step) == (2.0, 200)
    assert math.isnan(c.steps_to_target)
    assert math.isnan(curve_stats(pd.DataFrame(), "m", True).best)
