"""The sensitivity report (harness.report.sensitivity): expected best after k trials against brute
force, the per-variant summary against hand-computed values, the Markdown section and the figure."""
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from harness.errors import HarnessError
from harness.report.sensitivity import expected_best, sensitivity_figure, sensitivity_markdown, summarize


def brute_force(values, k, higher_is_better=True, worst=None):
    """Mean and sd of the best of k draws, over all N^k equally likely ordered draws."""
    fill = (-math.inf if higher_is_better else math.inf) if worst is None else worst
    x = [fill if math.isnan(v) else v for v in values]
    best = [max(d) if higher_is_better else min(d) for d in itertools.product(x, repeat=k)]
    mean = sum(best) / len(best)
    if not math.isfinite(mean):
        return mean, math.nan
    return mean, math.sqrt(sum((b - mean) ** 2 for b in best) / len(best))


CASES = [[0.3, 1.7, -2.0, 5.5], [1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0, 2.0], [4.0, 1.0, 1.0, 4.0]]


@pytest.mark.parametrize("values", CASES)
@pytest.mark.parametrize("higher", [True, False])
def test_expected_best_matches_brute_force(values, higher):
    eb = expected_best(values, higher)
    assert list(eb["k"]) == [1, 2, 3, 4]
    for k in (1, 2, 3):
        mean, sd = brute_force(values, k, higher)
        assert eb["mean"][k - 1] == pytest.approx(mean, abs=1e-12)
        assert eb["sd"][k - 1] == pytest.approx(sd, abs=1e-12)


@pytest.mark.parametrize("higher", [True, False])
def test_expected_best_nan_counts_as_worst(higher):
    values = [3.0, float("nan"), 1.0, 3.0]
    eb = expected_best(values, higher, worst=-5.0 if higher else 9.0)
    for k in (1, 2, 3):
        mean, sd = brute_force(values, k, higher, worst=-5.0 if higher else 9.0)
        assert eb["mean"][k - 1] == pytest.approx(mean, abs=1e-12)
        assert eb["sd"][k - 1] == pytest.approx(sd, abs=1e-12)
        assert eb["p_failed"][k - 1] == pytest.approx(0.25 ** k, abs=1e-15)
    default = expected_best(values, higher)  # no worst given: -inf (+inf): every mean infinite, sd undefined
    assert (default["mean"] == (-math.inf if higher else math.inf)).all() and default["sd"].isna().all()


def test_expected_best_limits_and_mirror():
    values = np.array([0.2, 4.0, 1.5, 3.0, 3.0, -1.0])
    eb = expected_best(values)
    assert eb["mean"][0] == pytest.approx(values.mean(), abs=1e-12)
    assert eb["sd"][0] == pytest.approx(values.std(ddof=0), abs=1e-12)
    assert np.all(np.diff(eb["mean"]) > 0)
    many = expected_best(np.tile(values, 50))  # N = 300: k = 300 is near the best
    assert many["mean"].iloc[-1] == pytest.approx(values.max(), abs=1e-6)
    low = expected_best(-values, higher_is_better=False)
    np.testing.assert_allclose(low["mean"], -eb["mean"], atol=1e-12)
    np.testing.assert_allclose(low["sd"], eb["sd"], atol=1e-12)
    with pytest.raises(HarnessError):
        expected_best([])


def _points():
    rows = []
    a = [8, 6, 7, 8, 2, float("nan"), 5, 8]  # variant "wgan" on ring: two published points
    b = [1, 2, 3, 4, 5, 6, 7, 8]
    for var, vals in (("wgan", a), ("vanilla", b)):
        for i, v in enumerate(vals):
            src = {0: "authors", 1: "gan_toy.py 2-D"}.get(i, "") if var == "wgan" else ""
            rows.append({"variant": var, "dataset": "ring", "point": f"p{i}", "source": src, "objective": v,
                         "tiebreak": float(i), "g_steps": 100, "d_steps": 500 if var == "wgan" else 100,
                         "wall_time_s": 2.0 + i, "chosen": (i == 0 if var == "wgan" else i == 7)})
    return pd.DataFrame(rows)


def _report():
    return pd.DataFrame({"variant": ["wgan"] * 3 + ["vanilla"] * 2, "dataset": ["ring"] * 5,
                         "seed": [10, 11, 12, 10, 11], "objective": [8.0, 7.0, 6.0, 8.0, float("nan")],
                         "tiebreak": [0.1] * 5})


def test_summarize_known_values():
    s = summarize(_points(), _report(), higher_is_better=True, target=8).set_index("variant")
    w, v = s.loc["wgan"], s.loc["vanilla"]
    assert list(s.index) == ["vanilla", "wgan"]
    # wgan, NaN as -inf, sorted: -inf 2 5 6 7 8 8 8; h = 7q: q1 at 1.75 -> 2 + .75*3, median at 3.5 -> 6.5,
    # q3 at 5.25 -> 8
    assert (w.n_points, w.n_published, w.n_failed, w.best) == (8, 2, 1, 8.0)
    assert (w.q1, w["median"], w.q3) == pytest.approx((4.25, 6.5, 8.0))
    assert (w.frac_target, w.n_target) == (3 / 8, 3)
    assert (v.q1, v["median"], v.q3, v.frac_target, v.n_failed, v.n_published) == (2.75, 4.5, 6.25, 1 / 8, 0, 0)
    assert (w.chosen_point, w.chosen_source, w.chosen_tuning) == ("p0", "authors", 8.0)
    assert (w.report_mean, w.report_sd, w.n_report) == (7.0, 1.0, 3)
    assert (v.report_mean, v.n_report, v.report_failed) == (8.0, 2, 1) and math.isnan(v.report_sd)
    assert (w.g_steps, w.d_steps, w.wall_time_s, w.total_wall_time_s) == (100, 500, 5.5, 44.0)
    low = summarize(_points(), _report(), higher_is_better=False, target={"ring": 2}).set_index("variant")
    assert low.loc["wgan", "best"] == 2.0 and low.loc["wgan", "frac_target"] == 1 / 8  # NaN: +inf, not <= 2
    # NaN as +inf, sorted: 2 5 6 7 8 8 8 inf
    assert [low.loc["wgan", c] for c in ("q1", "median", "q3")] == pytest.approx([5.75, 7.5, 8.0])
    assert summarize(_points(), _report(), True, None)["frac_target"].isna().all()


def test_inputs_are_validated():
    with pytest.raises(HarnessError, match="objective, chosen"):
        summarize(_points().drop(columns=["objective", "chosen"]), _report(), True, 8)
    with pytest.raises(HarnessError, match="seed"):
        summarize(_points(), _report().drop(columns=["seed"]), True, 8)
    two = _points().assign(chosen=True)
    with pytest.raises(HarnessError, match="exactly one chosen"):
        summarize(two, _report(), True, 8)


def test_markdown_section():
    md = sensitivity_markdown(_points(), _report(), "modes_covered_k", True, 8)
    assert md.startswith("## Sensitivity to hyper-parameters")
    assert "Dodge et al. 2019" in md and "N = 8" in md and "2 published points" in md
    assert "| Variant | N | Published | Failed | Best | Q1 | Median | Q3 | Reach target |" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Variant")]
    assert [r.split(" | ")[0] for r in rows] == ["| NS-GAN", "| WGAN"]
    assert "| WGAN | 8 | 2 | 1 | 8.00 | 4.25 | 6.50 | 8.00 | 38% (3/8) | 8.00 | 7.00 ± 1.00 (n = 3) | 100 | 500 |" \
        in md
    assert "| NS-GAN | 8 | 0 | 0 | 8.00 | 2.75 | 4.50 | 6.25 | 12% (1/8) | 8.00 | 8.00 (n = 2; 1 failed) |" in md
    assert "WGAN reaches the target" in md
    assert "No target" in sensitivity_markdown(_points(), _report(), "modes_covered_k", True, None)


def test_figure_writes_png(tmp_path):
    pts = pd.concat([_points(), _points().assign(dataset="grid")], ignore_index=True)
    rep = pd.concat([_report(), _report().assign(dataset="grid")], ignore_index=True)
    out = sensitivity_figure(pts, rep, "modes_covered_k", True, tmp_path / "sub" / "sensitivity.png", target=8)
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    worst = sensitivity_figure(pts, rep, "modes_covered_k", True, tmp_path / "w.png", worst=0.0)
    assert worst.stat().st_size > 0
    with pytest.raises(HarnessError, match="no rows"):
        sensitivity_figure(pts.iloc[0:0], rep, "modes_covered_k", True, tmp_path / "empty.png")


def test_expected_best_band_stays_within_the_points_values(tmp_path, monkeypatch):
    """Issue 20: the ± 1 sd band went below 0 modes; the best of k draws lies among the N values."""
    from matplotlib.axes import Axes

    bands = []
    real = Axes.fill_between

    def spy(self, x, y1, y2=0, **kw):
        bands.append((np.asarray(y1, float), np.asarray(y2, float)))
        return real(self, x, y1, y2, **kw)

    monkeypatch.setattr(Axes, "fill_between", spy)
    pts = _points()
    sensitivity_figure(pts, _report(), "modes_covered_k", True, tmp_path / "s.png", target=8)
    assert bands
    values = pd.to_numeric(pts["objective"], errors="coerce")
    lo, hi = values.min(), values.max()
    drawn = [(y1[np.isfinite(y1)], y2[np.isfinite(y2)]) for y1, y2 in bands]
    assert any(len(y1) for y1, _ in drawn)  # a variant with a failed point draws no band (its mean is -inf)
    for y1, y2 in drawn:
        assert (y1 >= lo - 1e-12).all() and (y2 <= hi + 1e-12).all()


def test_the_sensitivity_figure_keeps_its_legend_inside_and_off_the_panels(tmp_path, monkeypatch):
    """Issue 20's legend rule for every figure of every report, the tuning study's included: four
    variants and two data sets, the legend inside the figure and over no panel, no text cut."""
    from matplotlib.figure import Figure

    from test_report_paper import _legends_clear

    drawn = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **kw: drawn.append(fig) or save(fig, *a, **kw))
    one_p, one_r = _points().query("variant == 'wgan'"), _report().query("variant == 'wgan'")
    pts = pd.concat([one_p.assign(variant=v, dataset=d) for v in ("vanilla", "wgan", "wgan-gp", "sngan")
                     for d in ("grid25", "ring8")], ignore_index=True)
    rep = pd.concat([one_r.assign(variant=v, dataset=d) for v in ("vanilla", "wgan", "wgan-gp", "sngan")
                     for d in ("grid25", "ring8")], ignore_index=True)
    sensitivity_figure(pts, rep, "modes_covered_k", True, tmp_path / "s.png", target=8)
    (fig,) = drawn
    assert _legends_clear(fig, "sensitivity") == 1
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"NS-GAN", "WGAN", "WGAN-GP", "SN-GAN"}
