"""write_report end to end on synthetic run directories: tables, best marking, determinism, bad
input, protocol refusal, LaTeX structure, self-contained HTML, figures."""
import csv
import io
import math
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from harness.errors import HarnessError
from harness.report import write_report
from harness.report.figures import image_grid
from report_runs import make_run, mixture_metrics, protocol, snapshot_arrays

NAN = float("nan")


def build(root, n_seeds=5, diverge=("bad", 4)):
    """3 variants on ring8: 'good' covers the most modes (significant at n >= 5); hq_fraction is a
    tie; one run of 'bad' diverged (NaN metrics)."""
    for s in range(n_seeds):
        for v, modes in (("good", 8.0), ("mid", 6.0), ("bad", 3.0)):
            m = mixture_metrics(modes - 0.1 * s, hq=0.90 + 0.01 * ((s + len(v)) % 3), fd=0.05 + 0.01 * s)
            if (v, s) == diverge:
                make_run(root, v, "ring8", s, {k: NAN for k in m}, status="diverged", step=321, reason="loss_d is NaN")
            else:
                make_run(root, v, "ring8", s, m)
    return root


def read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


@pytest.fixture
def five(tmp_path):
    return build(tmp_path / "runs")


def test_best_is_bold_only_where_the_test_says_so(five, tmp_path):
    out = write_report(five, tmp_path / "out", formats=("tex", "csv", "md"), figures=False)
    rows = read_csv(out["pairwise_csv"])
    # independent computation: scipy's exact Mann-Whitney + Holm written out here
    from test_report_stats import holm_by_hand

    for metric in ("modes_covered", "hq_fraction"):
        fam = [r for r in rows if r["metric"] == metric]
        values = {}
        for r in read_csv(out["csv"]):
            if r["metric"] == metric and not math.isnan(float(r["value"])):
                values.setdefault(r["variant"], []).append(float(r["value"]))
        raw = [sps.mannwhitneyu(values[r["a"]], values[r["b"]], method="exact").pvalue for r in fam]
        if metric == "modes_covered":  # no ties within this metric: SciPy's exact method applies directly
            assert [float(r["p"]) for r in fam] == pytest.approx(raw)
            assert [float(r["p_holm"]) for r in fam] == pytest.approx(holm_by_hand(raw))
    stats_rows = read_csv(out["stats_csv"])
    best = {(r["metric"], r["variant"]) for r in stats_rows if r["best"] == "true"}
    assert best == {("modes_covered", "good")}
    tex = out["tex"].read_text()
    assert tex.count(r"\textbf{") == 1
    good_row = next(line for line in tex.splitlines() if line.startswith("good &"))
    assert r"\textbf{7.80 $\pm$ 0.16}" in good_row
    md = out["md"].read_text()
    assert "**7.80 ± 0.16**" in md and md.count("**") == 2


def test_three_seeds_never_bold_and_the_report_says_why(tmp_path):
    root = build(tmp_path / "runs", n_seeds=3, diverge=())
    out = write_report(root, tmp_path / "out", formats=("md", "tex"), figures=False)
    assert r"\textbf" not in out["tex"].read_text()
    md = out["md"].read_text()
    assert "**" not in md.split("## Data set")[1].split("### Significance")[0]
    assert "cannot give p below 0.100" in md and "at least 5 seeds" in md


def test_diverged_runs_are_counted_not_dropped(five, tmp_path):
    out = write_report(five, tmp_path / "out", formats=("md", "csv"), figures=False)
    md = out["md"].read_text()
    assert "| bad | 5 (1 diverged) |" in md
    assert "| bad | 1/5 | 4/5 | 0/5 | 0/5 | 0/5 |" in md  # 1 diverged, 4 collapsed (3 of 8 modes)
    assert "`bad/ring8/seed-4`: diverged at step 321: loss_d is NaN" in md
    assert "2.85 ± 0.13 (n=4)" in md  # mean and std of 3.0, 2.9, 2.8, 2.7: the NaN is left out
    rows = [r for r in read_csv(out["csv"]) if r["variant"] == "bad" and r["seed"] == "4"]
    assert len(rows) == 5 and {r["verdict"] for r in rows} == {"diverged"} and rows[0]["value"] == "nan"


def test_tables_are_byte_identical_across_report_runs(five, tmp_path):
    a = write_report(five, tmp_path / "a", formats=("tex", "csv"))
    b = write_report(five, tmp_path / "b", formats=("tex", "csv"))
    for key in ("tex", "csv", "stats_csv", "pairwise_csv", "protocols_json"):
        assert a[key].read_bytes() == b[key].read_bytes(), key


def test_results_csv_is_tidy_and_full_precision(five, tmp_path):
    out = write_report(five, tmp_path / "out", formats=("csv",), metrics="modes_covered,w1")
    rows = read_csv(out["csv"])
    assert len(rows) == 15 * 2
    assert {r["metric"] for r in rows} == {"modes_covered", "w1"}
    r = next(r for r in rows if (r["variant"], r["seed"], r["metric"]) == ("mid", "3", "modes_covered"))
    assert float(r["value"]) == 6.0 - 0.1 * 3  # repr round-trips exactly
    assert "md" not in out and not (tmp_path / "out" / "figures").exists()


def test_single_seed_shows_na_not_nan(tmp_path):
    root = build(tmp_path / "runs", n_seeds=1, diverge=())
    out = write_report(root, tmp_path / "out", formats=("md", "tex"), figures=False)
    md, tex = out["md"].read_text(), out["tex"].read_text()
    assert "8.00 ± n/a" in md and "8.00 $\\pm$ n/a" in tex
    cells = "\n".join(line for line in md.splitlines() if line.startswith("|"))
    assert not re.search(r"\bnan\b", cells, re.I) and not re.search(r"\bnan\b", tex, re.I)


def test_protocols_that_differ_are_refused_naming_the_field(five, tmp_path):
    make_run(five, "other", "ring8", 0, mixture_metrics(7.0), proto=protocol(n_eval=1000))
    with pytest.raises(HarnessError, match=r"evaluator\.n_eval") as exc:
        write_report(five, tmp_path / "out", formats=("csv",))
    assert "\n" not in str(exc.value) and "other/ring8/seed-0" in str(exc.value)


def test_n_dis_is_part_of_the_variant_not_the_protocol(five, tmp_path):
    make_run(five, "wgan", "ring8", 0, mixture_metrics(7.0), proto=protocol(n_dis=5))
    out = write_report(five, tmp_path / "out", formats=("tex",))
    assert "wgan 5" in out["tex"].read_text()


@pytest.mark.parametrize("kwargs, match", [({"metrics": ["modes_coverd"]}, "did you mean 'modes_covered'"),
                                           ({"formats": "md,pdf"}, "unknown report format 'pdf'"),
                                           ({"test": "ttest"}, "unknown test"),
                                           ({"level": 1.5}, "level")])
def test_bad_arguments_are_one_line_errors(five, tmp_path, kwargs, match):
    with pytest.raises(HarnessError, match=match) as exc:
        write_report(five, tmp_path / "out", figures=False, **kwargs)
    assert "\n" not in str(exc.value)


def test_missing_or_empty_runs_directory(tmp_path):
    with pytest.raises(HarnessError, match="not found"):
        write_report(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HarnessError, match="no runs found"):
        write_report(tmp_path / "empty", tmp_path / "out")


def test_broken_runs_are_skipped_with_a_warning_naming_each(five, tmp_path):
    corrupt = make_run(five, "mid", "ring8", 7, mixture_metrics(6.0))
    (corrupt / "summary.json").write_text("{not json")
    running = make_run(five, "mid", "ring8", 8, mixture_metrics(6.0), status="running", write_summary=False)
    no_summary = make_run(five, "mid", "ring8", 9, mixture_metrics(6.0), write_summary=False)
    torn = make_run(five, "mid", "ring8", 10, mixture_metrics(6.0))
    with open(torn / "history.jsonl", "a") as fh:
        fh.write("{garbage\n{\"step\": 2000}\n")
    no_spec = make_run(five, "mid", "ring8", 11, mixture_metrics(6.0))
    (no_spec / "spec.json").unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = write_report(five, tmp_path / "out", formats=("md", "csv"), figures=False)
    messages = [str(w.message) for w in caught]
    for path in (corrupt, running, no_summary, torn, no_spec):
        assert any(str(path) in m for m in messages), path
    assert any("history.jsonl" in m and str(torn) in m for m in messages)
    seeds = {r["seed"] for r in read_csv(out["csv"]) if r["variant"] == "mid"}
    assert seeds == {"0", "1", "2", "3", "4", "10"}  # the torn history keeps its final metrics
    assert "Skipped or incomplete inputs" in out["md"].read_text()


def test_all_runs_unusable_is_an_error_and_still_warns(tmp_path):
    make_run(tmp_path / "runs", "a", "ring8", 0, mixture_metrics(6.0), status="running", write_summary=False)
    with pytest.warns(UserWarning, match="seed-0"), pytest.raises(HarnessError, match="no finished runs"):
        write_report(tmp_path / "runs", tmp_path / "out")


def _tex_structure_ok(tex: str) -> None:
    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}") >= 1
    for env in re.findall(r"\\begin\{tabular\}\{([lrc]+)\}(.*?)\\end\{tabular\}", tex, re.S):
        spec, body = env
        assert body.count(r"\toprule") == body.count(r"\midrule") == body.count(r"\bottomrule") == 1
        for line in body.strip().splitlines():
            if line.endswith(r"\\"):
                assert len(re.findall(r"(?<!\\)&", line)) == len(spec) - 1, line
    stripped = tex.replace(r"\$", "").replace(r"\{", "").replace(r"\}", "")
    assert stripped.count("{") == stripped.count("}")
    assert all(line.count("$") % 2 == 0 for line in stripped.splitlines())
    assert r"$\uparrow$" in tex and r"$\downarrow$" in tex
    assert all(ord(ch) < 128 for ch in tex)


def test_latex_table_compiles_or_has_booktabs_structure(five, tmp_path):
    make_run(five, "odd_name&co", "ring8", 0, mixture_metrics(5.0))
    out = write_report(five, tmp_path / "out", formats=("tex",))
    tex = out["tex"].read_text()
    _tex_structure_ok(tex)
    assert r"odd\_name\&co" in tex
    assert "seeds 0, 1, 2, 3, 4" in tex and "steps=1000" in tex and "n\\_eval=2500" in tex
    if shutil.which("pdflatex"):
        doc = tmp_path / "doc.tex"
        doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{"
                       + str(out["tex"]) + "}\n\\end{document}\n")
        res = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout[-2000:]


def test_html_is_self_contained_and_figures_are_written(tmp_path):
    root = tmp_path / "runs"
    for s in range(2):
        for v, modes in (("a", 8.0), ("b", 5.0)):
            make_run(root, v, "ring8", s, mixture_metrics(modes - s), snapshots=snapshot_arrays(seed=s))
            grey = np.linspace(-1, 1, 70 * 64).reshape(70, 1, 8, 8).astype(np.float32)
            make_run(root, v, "digits", s, {"frechet_distance": 1.0 + s}, n_modes=None, shape=(1, 8, 8),
                     samples=grey)
    out = write_report(root, tmp_path / "out", formats=("html", "md"), metrics=["frechet_distance"])
    page = out["html"].read_text()
    assert page.count("data:image/png;base64,") == len([k for k in out if k.endswith(".png")])
    assert 'src="figures/' not in page and "http" not in page.replace('lang="en"', "")
    for stem in ("curves_ring8", "gradients_ring8", "final_ring8", "snapshots_ring8", "curves_digits",
                 "samples_digits"):
        png = out[f"figure:{stem}.png"].read_bytes()
        assert png.startswith(b"\x89PNG") and b"Software" not in png
        assert out[f"figure:{stem}.pdf"].read_bytes().startswith(b"%PDF")
    md = out["md"].read_text()
    assert "![" in md and "figures/snapshots_ring8.png" in md


def test_image_grid_maps_minus_one_to_black_and_keeps_channels():
    x = np.stack([np.full((1, 2, 2), -1.0), np.full((1, 2, 2), 1.0)])
    g = image_grid(x, side=2)
    assert g.shape == (4, 7)  # 1 row of 2 images of 2x2 with 1-pixel white borders
    assert g[1, 1] == 0.0 and g[1, 4] == 1.0 and g[0, 0] == 1.0
    rgb = image_grid(np.zeros((3, 3, 4, 4)), side=2)
    assert rgb.shape == (11, 11, 3) and rgb[1, 1, 0] == 0.5


def test_verdict_thresholds_are_parameters(five, tmp_path):
    out = write_report(five, tmp_path / "a", formats=("csv",), thresholds={"collapse_fraction": 0.25})
    bad = {r["verdict"] for r in read_csv(out["csv"]) if r["variant"] == "bad"}
    assert bad == {"stable", "diverged"}  # 3 of 8 modes is above a quarter of them
    with pytest.raises(HarnessError, match="unknown verdict threshold 'colapse'"):
        write_report(five, tmp_path / "b", formats=("csv",), thresholds={"colapse": 0.2})
