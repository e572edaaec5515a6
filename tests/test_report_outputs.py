"""write_report end to end on synthetic run directories: tables, best marking, determinism, bad
input, protocol refusal, LaTeX structure, HTML with linked figures, figures."""
import csv
import io
import json
import math
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from harness.errors import HarnessError
from harness.report import InputWarning, write_report
from harness.report.figures import image_grid
from report_runs import make_reference, make_run, mixture_metrics, protocol, snapshot_arrays

NAN = float("nan")


def build(root, n_seeds=5, diverge=("bad", 4)):
    """3 variants on ring8: 'good' covers the most modes (significant at n >= 5); hq_fraction is a
    tie; one run of 'bad' diverged (NaN metrics). Each run measured its evaluation noise (5 banks),
    and a null-gaussian reference row per seed sits at 5 modes and 0.3 % high quality."""
    for s in range(n_seeds):
        make_reference(root, "null-gaussian", "ring8", s, mixture_metrics(5.0, hq=0.003, kl=0.6, fd=0.003, w1=0.9))
        for v, modes in (("good", 8.0), ("mid", 6.0), ("bad", 3.0)):
            m = mixture_metrics(modes - 0.1 * s, hq=0.90 + 0.01 * ((s + len(v)) % 3), fd=0.05 + 0.01 * s)
            if (v, s) == diverge:
                make_run(root, v, "ring8", s, {k: NAN for k in m}, status="diverged", step=321, reason="loss_d is NaN")
            else:
                noise = {"n_banks": 5, "sd": {"modes_covered": 0.4, "hq_fraction": 0.005, "reverse_kl": 0.01,
                                              "frechet_distance": 0.005, "w1": 0.01}, "mean": m}
                make_run(root, v, "ring8", s, m, summary_extra={"eval_noise": noise})
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
    tex = out["tex"].read_text()  # the main table: bold the best mean, the std in a smaller size
    assert tex.count(r"\textbf{") == 1
    good_row = next(line for line in tex.splitlines() if line.startswith("good &"))
    assert r"\textbf{7.80{\scriptsize\,$\pm$\,0.16}}" in good_row
    appendix = out["tex_appendix"].read_text()
    assert r"\textbf{7.80 $\pm$ 0.16}" in next(x for x in appendix.splitlines() if x.startswith("good &"))
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
    # 1 diverged, 4 collapsed (3 of 8 modes at 90 % high quality, far above the null row's 0.3 %)
    assert "| bad | 1/5 | 4/5 | 0/5 | 0/5 | 0/5 | 0/5 | 0/5 | 0/5 | 0/5 |" in md
    assert "`bad/ring8/seed-4`: diverged at step 321: loss_d is NaN" in md
    # mean and std of 3.0, 2.9, 2.8, 2.7: the NaN is left out, and said so
    assert "| 2.85 ± 0.13 in 4/5; diverged in 1/5 (< null) |" in md  # 2.85 modes: worse than the null row
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
    assert len(rows) == (15 + 5) * 2  # 15 runs and 5 reference rows (null-gaussian per seed)
    assert {r["metric"] for r in rows} == {"modes_covered", "w1"}
    r = next(r for r in rows if (r["variant"], r["seed"], r["metric"]) == ("mid", "3", "modes_covered"))
    assert float(r["value"]) == 6.0 - 0.1 * 3  # repr round-trips exactly
    assert "md" not in out and not (tmp_path / "out" / "figures").exists()


def test_single_seed_shows_na_not_nan(tmp_path):
    root = build(tmp_path / "runs", n_seeds=1, diverge=())
    out = write_report(root, tmp_path / "out", formats=("md", "tex"), figures=False)
    md, tex = out["md"].read_text(), out["tex"].read_text()
    assert "8.00 ± n/a" in md and "n/a" not in tex  # the paper table marks a single run instead
    assert "8.00$^{\\dagger}$" in tex and "8.00 (1 run)" in out["tex_appendix"].read_text()
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
    assert "wgan 5" in out["tex_appendix"].read_text()


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
    named = [w for w in caught if "seed-" in str(w.message)]
    assert named and all(isinstance(w.message, InputWarning) for w in named)  # a class, not a message prefix
    assert any("history.jsonl" in m and str(torn) in m for m in messages)
    seeds = {r["seed"] for r in read_csv(out["csv"]) if r["variant"] == "mid"}
    assert seeds == {"0", "1", "2", "3", "4", "10"}  # the torn history keeps its final metrics
    md = out["md"].read_text()
    assert "Skipped or incomplete inputs" in md
    assert "- skipping run mid/ring8/seed-7: unreadable summary.json" in md  # relative to the runs directory
    assert "- run mid/ring8/seed-10: unreadable history.jsonl" in md


def test_all_runs_unusable_is_an_error_and_still_warns(tmp_path):
    make_run(tmp_path / "runs", "a", "ring8", 0, mixture_metrics(6.0), status="running", write_summary=False)
    with pytest.warns(UserWarning, match="seed-0"), pytest.raises(HarnessError, match="no finished runs"):
        write_report(tmp_path / "runs", tmp_path / "out")


def _tex_structure_ok(tex: str) -> None:
    assert tex.count(r"\begin{table") == tex.count(r"\end{table") >= 1  # table or table* (page wide)
    for env in re.findall(r"\\begin\{tabular\}\{([lrc]+)\}(.*?)\\end\{tabular\}", tex, re.S):
        spec, body = env
        assert body.count(r"\toprule") == body.count(r"\bottomrule") == 1
        assert body.count(r"\midrule") in (1, 2)  # 2: the reference rows below their own rule
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
    tex, appendix = out["tex"].read_text(), out["tex_appendix"].read_text()
    _tex_structure_ok(tex)
    _tex_structure_ok(appendix)
    assert r"odd\_name\&co" in tex
    assert "Seeds 0, 1, 2, 3, 4" in appendix and "steps=1000" in appendix and "n\\_eval=2500" in appendix
    if shutil.which("pdflatex"):
        doc = tmp_path / "doc.tex"
        doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n\\input{"
                       + str(out["tex"]) + "}\n\\input{" + str(out["tex_appendix"]) + "}\n\\end{document}\n")
        res = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout[-2000:]


@pytest.mark.slow
def test_html_links_its_figures_and_figures_are_written(tmp_path):
    root = tmp_path / "runs"
    for s in range(2):
        for v, modes in (("a", 8.0), ("b", 5.0)):
            make_run(root, v, "ring8", s, mixture_metrics(modes - s), snapshots=snapshot_arrays(seed=s))
            grey = np.linspace(-1, 1, 70 * 64).reshape(70, 1, 8, 8).astype(np.float32)
            make_run(root, v, "digits", s, {"frechet_distance": 1.0 + s}, n_modes=None, shape=(1, 8, 8),
                     samples=grey)
    out = write_report(root, tmp_path / "out", formats=("html", "md"), metrics=["frechet_distance"])
    page = out["html"].read_text()
    # every figure linked from figures/ beside the page (no base64: the quick report's page was 1 MB),
    # each link to a file the report wrote; nothing fetched from the network
    import re

    srcs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert "base64" not in page and len(srcs) == len([k for k in out if k.endswith(".png")])
    assert all(s.startswith("figures/") and (out["html"].parent / s).is_file() for s in srcs)
    assert "http" not in page.replace('lang="en"', "")
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


# ----------------------------------------------------------------------------- reference rows, ≈ null, cost
INF = float("inf")


def add_references(root, n_seeds=5, proto=None, dataset="ring8"):
    """real, null-gaussian and null-uniform rows for build(): null-uniform covers 6.5-6.9 modes (mean
    6.7, std 0.16), so 'good' (7.8) is clearly better than the null rows and 'mid' (5.8) is not."""
    for s in range(n_seeds):
        make_reference(root, "real", dataset, s, mixture_metrics(8.0, hq=0.989, kl=0.0014, fd=0.001, w1=0.02),
                       proto=proto)
        make_reference(root, "null-gaussian", dataset, s, mixture_metrics(2.0 + 0.1 * s, hq=0.05, kl=1.5, fd=0.3,
                                                                          w1=0.5), proto=proto)
        make_reference(root, "null-uniform", dataset, s, mixture_metrics(6.5 + 0.1 * s, hq=0.02, kl=0.1, fd=2.0,
                                                                         w1=1.5), proto=proto)
    return root


def table_lines(md, heading="### Results"):
    """The body rows of the first table after `heading`."""
    part = next(p for p in md.split(heading)[1].split("\n\n") if p.startswith("| "))
    return [line for line in part.splitlines() if line.startswith("| ") and not line.startswith("| variant")]


def test_reference_rows_are_shown_below_marked_and_never_tested(five, tmp_path):
    add_references(five)
    out = write_report(five, tmp_path / "out", formats=("md", "html", "tex", "csv"), figures=False)
    md = out["md"].read_text()
    rows = [line.split(" | ")[0][2:] for line in table_lines(md)]
    assert rows == ["bad", "good", "mid", "real (reference)", "null-gaussian (reference)", "null-uniform (reference)"]
    assert "**7.80 ± 0.16**" in md and md.split("### Results")[1].split("###")[0].count("**") == 2  # real: 8.0
    pairs = {(r["a"], r["b"]) for r in read_csv(out["pairwise_csv"])}
    assert pairs == {("bad", "good"), ("bad", "mid"), ("good", "mid")}
    stats_rows = read_csv(out["stats_csv"])
    refs = {r["variant"] for r in stats_rows if r["reference"] == "true"}
    assert refs == {"real", "null-gaussian", "null-uniform"}
    assert not any(r["best"] == "true" for r in stats_rows if r["reference"] == "true")
    results = [r for r in read_csv(out["csv"]) if r["reference"] == "true"]
    assert len(results) == 15 * 5 and {r["verdict"] for r in results} == {""}
    tex = out["tex"].read_text()
    body = tex.split(r"\midrule")
    assert len(body) == 3 and "Real sample &" in body[2] and "good &" in body[1]
    page = out["html"].read_text()
    assert '<tr class="rule"><td class="l">real (reference)</td>' in page


def test_cells_no_better_than_the_best_null_row_are_marked_in_every_format(five, tmp_path):
    add_references(five)
    out = write_report(five, tmp_path / "out", formats=("md", "html", "tex", "csv"), figures=False)
    md = out["md"].read_text()
    cells = {line.split(" | ")[0][2:]: line.split(" | ")[2] for line in table_lines(md)}
    assert cells["good"] == "**7.80 ± 0.16**"  # 1.1 modes above null-uniform's 6.7 > std 0.16
    # 0.9 modes below null-uniform's 6.70, more than the larger std: worse than the null row, "< null"
    assert cells["mid"] == "5.80 ± 0.16 (< null)"
    assert cells["bad"].endswith("(< null)") and "null)" not in cells["null-uniform (reference)"]
    assert "the difference of the means, in the metric's better direction, is at most the larger of the two " \
           "standard deviations" in md  # the rule is stated
    assert "modes_covered: null-uniform" in md  # and which null row each metric compares with
    assert "5.80 ± 0.16 (&lt; null)" in out["html"].read_text()
    assert r"5.80 $\pm$ 0.16 (\textless{} null)" in out["tex_appendix"].read_text()
    assert r"5.80{\scriptsize\,$\pm$\,0.16}$^{\bullet}$" in out["tex"].read_text()
    assert "worse than the best null reference row" in out["tex"].read_text()
    flags = {(r["variant"], r["metric"]): r["near_null"] for r in read_csv(out["stats_csv"])}
    assert flags[("mid", "modes_covered")] == "true" and flags[("good", "modes_covered")] == "false"
    assert flags[("mid", "hq_fraction")] == "false"  # 90 % against null-gaussian's 5 %
    below = {(r["variant"], r["metric"]): r["worse_than_null"] for r in read_csv(out["stats_csv"])}
    assert below[("mid", "modes_covered")] == "true" and below[("good", "modes_covered")] == "false"


def test_reference_rows_are_checked_on_the_evaluator_only(five, tmp_path):
    add_references(five)  # they have no budget or latent bank: not a difference
    write_report(five, tmp_path / "ok", formats=("csv",), figures=False)
    make_reference(five, "real", "ring8", 9, mixture_metrics(8.0), proto=protocol(n_eval=1000))
    with pytest.raises(HarnessError, match=r"reference rows and the runs.*evaluator\.n_eval") as exc:
        write_report(five, tmp_path / "out", formats=("csv",), figures=False)
    assert "\n" not in str(exc.value) and "real/ring8/seed-9" in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_percent_metrics_are_shown_in_per_cent_and_stored_as_fractions(five, tmp_path):
    out = write_report(five, tmp_path / "out", formats=("md", "csv"), figures=False)
    md = out["md"].read_text()
    assert "| hq_fraction (%) ↑ |" in md
    assert table_lines(md)[1].split(" | ")[3] == "91.2 ± 0.8"  # good: 0.91, 0.92, 0.90, 0.91, 0.92
    value = next(r["value"] for r in read_csv(out["csv"])
                 if (r["variant"], r["seed"], r["metric"]) == ("good", "0", "hq_fraction"))
    assert value == "0.91"


def test_digits_data_sets_say_they_are_not_stacked_mnist_and_show_the_real_floor(tmp_path):
    root = tmp_path / "runs"
    source = "scikit-learn load_digits (UCI optical recognition of handwritten digits), 8x8, values 0..16"
    extra = {"source": source, "stacked_channels": 3, "n_images": 1797}
    for s in range(2):
        make_run(root, "dcgan", "stacked-digits", s, {"modes_covered": 990.0 + s, "reverse_kl": 0.2}, n_modes=1000,
                 shape=(3, 8, 8), dataset_extra=extra)
        make_reference(root, "real", "stacked-digits", s, {"modes_covered": 1000.0, "reverse_kl": 0.0494},
                       n_modes=1000, shape=(3, 8, 8), dataset_extra=extra)
    md = write_report(root, tmp_path / "out", formats=("md",), figures=False)["md"].read_text()
    assert "built from the 1,797 8×8 scikit-learn digits" in md
    assert "not comparable to published Stacked-MNIST numbers" in md
    assert "its reverse_kl, 0.0494 ± 0.0000, is that metric's floor at this N" in md
    assert "| real (reference) |" in md


def test_each_table_carries_g_steps_d_steps_and_wall_time(five, tmp_path):
    # new runs store g_steps, d_steps and n_dis in spec config; old ones: status step x protocol n_dis
    for s in range(2):
        make_run(five, "wgan", "ring8", s, mixture_metrics(7.0), proto=protocol(n_dis=None), config={"n_dis": 5},
                 wall_time=12.5 + s, summary_extra={"g_steps": 1000, "d_steps": 5000})
    make_run(five, "old5", "ring8", 0, mixture_metrics(7.0), proto=protocol(n_dis=5))  # n_dis in the budget
    out = write_report(five, tmp_path / "out", formats=("md", "tex", "csv"), figures=False)
    md = out["md"].read_text()
    assert "| G steps | D steps | wall time (s) |" in md
    assert table_lines(md)[3].startswith("| old5 |") and table_lines(md)[3].endswith("| 1000 | 5000 | 1.00 |")
    lines = {line.split(" | ")[0][2:]: line for line in table_lines(md)}
    assert lines["wgan"].endswith("| 1000 | 5000 | 13.0 |")
    assert lines["bad"].endswith("| 321–1000 | 321–1000 | 1.00 |")  # its diverged run stopped at step 321
    appendix = re.sub(r"\\parbox\[t\]\{[0-9.]+pt\}\{\\raggedright\\hspace\{0pt\}(.*?)\\strut\}", r"\1",
                      out["tex_appendix"].read_text()).replace(",\\allowbreak{}", ",")  # cells wrapped to the page
    assert "G / D steps trained & 321--1000 / 321--1000" in appendix  # bad, first column
    row = next(r for r in read_csv(out["csv"]) if (r["variant"], r["seed"]) == ("wgan", "1"))
    assert (row["g_steps"], row["d_steps"], row["wall_time_s"]) == ("1000", "5000", "13.5")
    assert "wgan 5" in md  # D steps per G step from spec.json config


def test_infinite_values_are_counted_in_cells_and_keep_the_report_consistent(tmp_path):
    # regression: A significantly better on reverse KL and "no variant can be marked best" in one section
    root = tmp_path / "runs"
    for s, kl in enumerate([0.01, 0.02, 0.015, 0.012, 0.018]):
        make_run(root, "A", "ring8", s, mixture_metrics(8.0, kl=kl))
        make_run(root, "B", "ring8", s, mixture_metrics(8.0, kl=INF))
    for s, kl in enumerate([INF, INF, 2.08]):  # ring8 vanilla in the quick suite: no longer "2.08 ± n/a (n=1)"
        make_run(root, "C", "grid25", s, mixture_metrics(8.0, kl=kl), n_modes=25)
    out = write_report(root, tmp_path / "out", formats=("md", "tex"), metrics="reverse_kl", figures=False)
    md = out["md"].read_text()
    ring8 = md.split("## Data set `ring8`")[1]
    cells = {line.split(" | ")[0][2:]: line.split(" | ")[2] for line in table_lines(ring8)}
    assert cells == {"A": "**0.0150 ± 0.0041**", "B": "∞"}
    assert "Significantly best (bold): reverse_kl: A." in ring8
    assert "out of reach" not in ring8
    assert "| C | 3 | ∞ in 2/3; 2.08 in 1/3 |" in md.split("## Data set `grid25`")[1]
    assert r"\textbf{0.0150 $\pm$ 0.0041}" in out["tex_appendix"].read_text()


def test_steps_to_target_counts_the_runs_that_never_reach_it(tmp_path):
    root = tmp_path / "runs"
    curves = {0: [4, 8, 8, 8], 1: [4, 6, 8, 8], 2: [4, 6, 6, 6]}  # reach 8 modes at 500, 750, never
    for s, modes in curves.items():
        evals = [{"step": 250 * (i + 1), "wall_time_s": 0.1 * i, **mixture_metrics(m)} for i, m in enumerate(modes)]
        make_run(root, "v", "ring8", s, mixture_metrics(modes[-1]), evaluations=evals)
    # w: one run diverged before its first evaluation: it never reached the target either
    for s, modes in ((0, [4, 8, 8, 8]), (2, [4, 6, 8, 8])):
        evals = [{"step": 250 * (i + 1), "wall_time_s": 0.1 * i, **mixture_metrics(m)} for i, m in enumerate(modes)]
        make_run(root, "w", "ring8", s, mixture_metrics(modes[-1]), evaluations=evals)
    make_run(root, "w", "ring8", 1, mixture_metrics(NAN), status="diverged", step=90, evaluations=[])
    md = write_report(root, tmp_path / "out", formats=("md",), figures=False)["md"].read_text()
    curves = {line.split(" | ")[0][2:]: line.split(" | ")[-1] for line in table_lines(md, "### Curves")}
    assert curves == {"v": "750 (2/3 reached) |", "w": "750 (2/3 reached) |"}  # the reached runs alone: 625


def test_grid_points_are_rows_and_each_variant_is_summarised_over_its_grid(tmp_path):
    root = tmp_path / "runs"
    for s in range(3):
        for lr, modes in (("0.001", 7.0), ("0.0001", 5.0), ("0.01", 2.0)):
            make_run(root, "wgan", "ring8", s, mixture_metrics(modes + 0.1 * s), grid={"lr_g": lr})
        for lr, hq in (("0.001", 0.80), ("0.0001", 0.50)):  # same modes: the quality metric decides
            make_run(root, "sngan", "ring8", s, mixture_metrics(6.0, hq=hq), grid={"lr_g": lr})
    out = write_report(root, tmp_path / "out", formats=("md", "csv"), figures=False)
    md = out["md"].read_text()
    rows = [line.split(" | ")[0][2:] for line in table_lines(md)]
    assert rows == ["sngan @ lr_g=0.0001", "sngan @ lr_g=0.001", "wgan @ lr_g=0.0001", "wgan @ lr_g=0.001",
                    "wgan @ lr_g=0.01"]
    grid = {line.split(" | ")[0][2:]: line.split(" | ")[1:] for line in table_lines(md, "### Each variant over")}
    # points, best point, modes at best, hq (%) at best, median modes over points, median hq over points
    assert grid["wgan"] == ["3", "`lr_g=0.001`", "7.10", "95.0", "5.10", "95.0 |"]
    assert grid["sngan"] == ["2", "`lr_g=0.001`", "6.00", "80.0", "6.00", "65.0 |"]
    assert "Lucic et al. (2018)" in md
    points = {(r["variant"], r["point"], r["grid"]) for r in read_csv(out["csv"])}
    assert ("wgan", "lr_g=0.01", '{"lr_g": "0.01"}') in points


def test_load_runs_gives_reference_grid_and_point_columns(tmp_path):
    from harness.runs import load_runs

    root = tmp_path / "runs"
    make_run(root, "wgan", "ring8", 0, mixture_metrics(7.0), grid={"lr_g": 0.001, "lr_d": 0.01})
    make_run(root, "plain", "ring8", 0, mixture_metrics(7.0))
    make_reference(root, "null-gaussian", "ring8", 0, mixture_metrics(2.0))
    df = load_runs(root).set_index("variant")
    assert df.loc["wgan", "point"] == "lr_d=0.01,lr_g=0.001"
    assert json.loads(df.loc["wgan", "grid"]) == {"lr_g": 0.001, "lr_d": 0.01}
    assert (df.loc["plain", "point"], df.loc["plain", "grid"]) == ("", "{}")
    assert df["reference"].to_dict() == {"null-gaussian": True, "plain": False, "wgan": False}


def test_verdicts_get_the_evaluation_noise_and_the_null_levels(five, tmp_path, monkeypatch):
    from harness.report import analysis, collect_runs

    add_references(five)
    make_run(five, "wgan", "ring8", 0, mixture_metrics(7.0),
             summary_extra={"eval_noise": {"n_banks": 5, "sd": {"modes_covered": 0.25}, "mean": {}}})
    seen = {}

    def new_verdict(status, history, evaluations, *, n_modes=None, eval_noise=None, null_levels=None,
                    thresholds=None):  # the signature verdicts.py is moving to
        seen[len(seen)] = (n_modes, eval_noise, null_levels)
        return analysis.Verdict("stable", None, "", ())

    monkeypatch.setattr(analysis, "verdict", new_verdict)
    analysis.analyze(collect_runs(five))
    assert len(seen) == 16  # trained runs only
    n_modes, noise, levels = seen[15]  # wgan/ring8/seed-0, the last trained run in order
    assert n_modes == 8 and noise == {"modes_covered": 0.25}
    # best null row per metric: null-uniform covers more modes (6.7 > 2.2) and has the lower reverse KL
    assert levels["modes_covered"] == pytest.approx(6.7) and levels["reverse_kl"] == pytest.approx(0.1)
    assert levels["hq_fraction"] == pytest.approx(0.05) and levels["w1"] == pytest.approx(0.5)


def test_main_metric_comes_from_the_metric_roles(tmp_path):
    from harness.report.analysis import main_metric_of
    from harness.report.collect import Run

    def run(**metrics):
        return Run(tmp_path, "v", "d", 0, {}, metrics, {}, None)

    assert main_metric_of([run(reverse_kl=0.1, w1=0.2, modes_covered=8.0)]) == "modes_covered"
    assert main_metric_of([run(kid=0.1, fid=10.0)]) == "fid"  # no mode metric: the quality metric
    assert main_metric_of([run(frechet_distance=0.1, w1=0.2)]) is None  # neither role: no curve summary


# ----------------------------------------------------------------------------- x axis, CLI, warnings
def test_curves_can_be_drawn_against_g_steps_d_steps_or_wall_time(tmp_path):
    from harness.report import analyze, collect_runs
    from harness.report.figures import curves_figure, styles, tidy

    root = tmp_path / "runs"
    make_run(root, "wgan", "ring8", 0, mixture_metrics(7.0), proto=protocol(n_dis=None), config={"n_dis": 5})
    (run,) = collect_runs(root)
    steps = [250.0, 500.0, 750.0, 1000.0]  # default_evaluations: wall_time_s = 0.1 * i
    for axis, want in (("g_steps", steps), ("d_steps", [5 * s for s in steps]), ("wall_time", [0.0, 0.1, 0.2, 0.3])):
        data = tidy([("wgan", run)], "evaluations", ["modes_covered"], axis)
        assert list(data["x"]) == pytest.approx(want), axis
    ds = analyze([run], x_axis="wall_time").datasets[0]
    fig = curves_figure(ds, styles(ds.rows), "wall_time")
    assert fig.axes[0].get_xlabel() == "wall-clock time (s)"


def test_unknown_x_axis_is_one_line_and_writes_nothing(five, tmp_path, capsys):
    from harness.cli import main

    with pytest.raises(HarnessError, match="unknown x axis 'epochs'; known: g_steps, d_steps, wall_time"):
        write_report(five, tmp_path / "out", x_axis="epochs")
    assert main(["report", str(five), "--out", str(tmp_path / "cli"), "--x-axis", "epochs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown x axis 'epochs'" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cli").exists()
    assert main(["report", str(five), "--out", str(tmp_path / "ok"), "--format", "csv", "--x-axis", "d_steps"]) == 0
    assert main(["report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "runs directory not found" in capsys.readouterr().err


def test_per_seed_values_sit_next_to_every_summary(five, tmp_path):
    out = write_report(five, tmp_path / "out", formats=("md", "csv"), figures=False)
    row = next(r for r in read_csv(out["stats_csv"]) if (r["variant"], r["metric"]) == ("bad", "modes_covered"))
    assert row["seeds"] == "0;1;2;3;4" and row["values"] == "3.0;2.9;2.8;2.7;nan"
    assert (row["n"], row["n_nan"], row["n_total"]) == ("4", "1", "5")
    assert "| bad | modes_covered | 4/5 (1 NaN) | 2.85 |" in out["md"].read_text()
    assert "0: 3.00; 1: 2.90; 2: 2.80; 3: 2.70; 4: n/a" in out["md"].read_text()


def test_reports_doc_cites_only_files_in_the_repository():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    text = (repo / "docs" / "REPORTS.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert (repo / "docs" / target).exists(), target
    for name in re.findall(r"\b([\w./-]+\.(?:md|py))\b", text):
        if name == "METHODS.md":  # written by every report beside report.md, not a file of the repository
            continue
        assert (repo / name).exists() or (repo / "docs" / name).exists() or \
            any(repo.rglob(Path(name).name)), name


def test_one_run_reader_serves_load_runs_the_report_and_record(five, tmp_path, monkeypatch):
    """Issue 19: two parsers of a run's files (load_runs and the report's) became one, harness.runs.read_run."""
    import harness.runs
    from harness import baseline
    from harness.report import collect

    seen = []
    real = harness.runs.read_run
    monkeypatch.setattr(harness.runs, "read_run", lambda path: seen.append(path) or real(path))
    monkeypatch.setattr(collect, "read_run", harness.runs.read_run)
    n = len(harness.runs.load_runs(five))
    assert len(seen) == n == 20
    collect.collect_runs(five)
    assert len(seen) == 40
    baseline.build_baseline(five)  # `record`
    assert len(seen) == 60


def test_each_run_file_is_read_once(five, tmp_path, monkeypatch):
    from collections import Counter

    from harness.report import collect

    reads = Counter()
    real_read_json, real_read_jsonl = collect.read_json, collect.read_jsonl

    def counting(reader):
        def read(path):
            reads[str(path)] += 1
            return reader(path)
        return read

    import harness.runs

    monkeypatch.setattr(collect, "read_json", counting(real_read_json))
    monkeypatch.setattr(harness.runs, "read_json", counting(real_read_json))  # harness.runs.read_run's reads
    monkeypatch.setattr(collect, "read_jsonl", counting(real_read_jsonl))
    write_report(five, tmp_path / "out", formats=("md", "csv"), figures=False)
    names = Counter(p.rsplit("/", 1)[1] for p in reads)
    # 15 runs and 5 reference rows; reference rows have no history or evaluations
    assert names == {**{n: 20 for n in ("spec.json", "status.json", "summary.json", "manifest.json")},
                     "history.jsonl": 15, "evaluations.jsonl": 15}
    assert set(reads.values()) == {1}


def test_the_report_states_the_setting_of_every_trained_row(tmp_path):
    from report_runs import make_reference, make_run, mixture_metrics

    root = tmp_path / "runs"
    for seed in range(3):
        make_run(root, "vanilla", "ring8", seed, mixture_metrics(7), setting="2d")
        make_run(root, "wgan", "ring8", seed, mixture_metrics(6), setting="authors")
        make_reference(root, "real", "ring8", seed, mixture_metrics(8))
    out = write_report(root, tmp_path / "out", formats=("md", "tex", "csv"), figures=False)
    md = out["md"].read_text()
    assert "Hyper-parameter setting: `2d` for vanilla (one regime for every variant" in md
    assert "`authors` for wgan (each variant's published image-scale" in md
    assert "Hyper-parameter setting: 2d for vanilla" in out["tex_appendix"].read_text()
    rows = read_csv(out["csv"])
    assert {(r["variant"], r["setting"]) for r in rows} == {("vanilla", "2d"), ("wgan", "authors"), ("real", "")}


# ----------------------------------------------------------------------------- findings first, verdict of every run
def test_the_report_opens_with_findings_that_name_each_failure(five, tmp_path):
    add_references(five)
    for s in range(5):  # 'twin' scores as 'good' does: the two differ by no test
        make_run(five, "twin", "ring8", s, mixture_metrics(7.8 - 0.1 * s, hq=0.9), summary_extra={"eval_noise": {
            "n_banks": 5, "sd": {"modes_covered": 0.4, "hq_fraction": 0.005}, "mean": {}}})
    out = write_report(five, tmp_path / "out", formats=("md", "html", "csv"), figures=False)
    md = out["md"].read_text()
    assert re.findall(r"^## .*$", md, re.M)[0] == "## Findings"  # the first section after the title
    findings = md.split("## Findings")[1].split("\n## ")[0]
    assert "ring8: setting not recorded; budget 1000 G steps per run at batch size 256, 5 seeds per variant " \
           "(0, 1, 2, 3, 4)." in findings
    # the failed variant, its labels and how often, from the verdicts; the stable ones
    assert "ring8 verdicts: bad: diverged in 1 of 5 seeds (bad/ring8/seed-4 at step 321: loss_d is NaN), " \
           "collapsed in 4 of 5 seeds (Modes covered 2.7–3 of 8). Stable in every seed: good, mid, twin." in findings
    # the main metric of every variant against the real sample and the best null row
    assert "ring8, Modes covered ↑, mean over seeds: bad 2.85 (4/5 runs; 1 diverged) (< null), good 7.80, " \
           "mid 5.80 (< null), twin 7.60 (real sample 8.00; best null row, Uniform box, 6.70)." in findings
    # a difference is called significant only where the pairwise tests say so
    pairs = {(r["a"], r["b"]): r for r in read_csv(out["pairwise_csv"]) if r["metric"] == "modes_covered"}
    said = re.search(r"Significant differences on Modes covered \(Holm-adjusted p < 0.05\): ([^.]*)\.",
                     findings).group(1).split(", ")
    stated = {tuple(x.split(" better than ")) for x in said}
    tested = {(r["better"], r["b"] if r["better"] == r["a"] else r["a"]) for r in pairs.values()
              if r["significant"] == "true"}
    assert stated == tested and ("good", "mid") in stated and not {("good", "twin"), ("twin", "good")} & stated
    # the HTML page has them first too, in its summary section
    page = out["html"].read_text()
    assert page.index('<section id="summary"><h2>Findings</h2>') < page.index('id="run-verdicts"') < \
        page.index('id="methods"')


def test_findings_say_when_nothing_can_be_significant(tmp_path):
    root = build(tmp_path / "runs", n_seeds=3, diverge=())
    md = write_report(root, tmp_path / "out", formats=("md",), figures=False)["md"].read_text()
    findings = md.split("## Findings")[1].split("\n## ")[0]
    assert "ring8 significance: no variant is significantly better than every other on any metric. " \
           "Significance is out of reach on" in findings
    assert "Significant differences" not in findings and "Highest mean" not in findings


def test_the_report_has_a_verdict_row_for_every_run(five, tmp_path):
    out = write_report(five, tmp_path / "out", formats=("md", "csv"), figures=False)
    md = out["md"].read_text()
    assert md.index("## Findings") < md.index("## Verdict of every run") < md.index("## How the numbers are made")
    header = "| variant | data set | seed | verdict | step | reason |"
    assert header in md
    rows = [line.split(" | ") for line in table_lines(md, "## Verdict of every run")]
    per_run = {(r["variant"], r["dataset"], r["seed"]): (r["verdict"], r["verdict_step"], r["verdict_reason"])
               for r in read_csv(out["csv"]) if r["reference"] == "false"}
    assert len(rows) == len(per_run) == 15  # one row per trained run, none for the reference rows
    table = {(r[0][2:], r[1], r[2]): (r[3], r[4], r[5][:-2]) for r in rows}
    assert table.keys() == per_run.keys()
    for key, (label, step, reason) in table.items():
        assert (label, reason) == per_run[key][::2] and step == (per_run[key][1] or "–"), key
    assert table[("bad", "ring8", "4")] == ("diverged", "321", "loss_d is NaN")


# ----------------------------------------------------------------------------- provenance: dirty trees
def _with_commit(root, commit):
    from harness.runs import atomic_write_json, read_json

    for manifest in root.rglob("manifest.json"):
        data = read_json(manifest)
        if data.get("protocol") is not None:  # trained runs (reference rows keep theirs)
            data["environment"] = {"git_commit": commit}
            atomic_write_json(manifest, data)


def test_committed_report_dir_is_the_checkouts_reports_folder(tmp_path):
    from pathlib import Path

    import harness
    from harness.runs import committed_report_dir

    root = Path(harness.__file__).resolve().parents[1]
    assert committed_report_dir(root / "reports" / "quick") is ((root / ".git").exists())
    assert not committed_report_dir(tmp_path / "reports" / "quick")
    assert not committed_report_dir(root / "runs" / "quick")


def test_a_dirty_tree_is_refused_in_a_committed_report_unless_allowed(tmp_path, monkeypatch, capsys):
    import harness.runs
    from harness.cli import main
    from harness.errors import HarnessError

    root = tmp_path / "runs"
    for s in range(2):
        make_run(root, "vanilla", "ring8", s, mixture_metrics(8.0 - s))
    _with_commit(root, "0123abcd-dirty")
    committed = tmp_path / "committed"
    monkeypatch.setattr(harness.runs, "committed_report_dir", lambda p: str(p).startswith(str(committed)))
    with pytest.raises(HarnessError, match=r"committed report folder.*0123abcd-dirty.*--allow-dirty"):
        write_report(root, committed, formats=("md",), figures=False)
    assert not committed.exists()  # refused before anything is written
    code = main(["report", str(root), "--out", str(committed), "--format", "md"])
    assert code == 2 and "--allow-dirty" in capsys.readouterr().err
    out = write_report(root, committed, formats=("md", "tex"), figures=False, allow_dirty=True)
    text = out["md"].read_text()
    assert "Provenance: 2 of 2 runs were made from a working tree with uncommitted changes" in text
    assert "uncommitted code (0123abc-dirty)" in re.search(r"\\caption\{(.*)\}", out["tex"].read_text()).group(1)
    assert text.index("Provenance:") < text.index("Findings")  # said before the findings
    # anywhere else a dirty tree is allowed, and still said
    other = write_report(root, tmp_path / "elsewhere", formats=("md",), figures=False)
    assert "uncommitted changes" in other["md"].read_text()
    # a clean commit: no refusal, no note
    _with_commit(root, "0123abcd")
    clean = write_report(root, committed, formats=("md", "tex"), figures=False)
    assert "uncommitted" not in clean["md"].read_text() and "uncommitted" not in clean["tex"].read_text()
    # `run` refuses before training when its report would land in a committed folder from a dirty tree
    monkeypatch.setattr(harness.runs, "git_commit", lambda: "feed-dirty")
    code = main(["run", "--variants", "vanilla", "--datasets", "ring8", "--seeds", "0", "--steps", "2",
                 "--out", str(tmp_path / "r"), "--report-out", str(committed / "run")])
    assert code == 2 and "feed-dirty" in capsys.readouterr().err and not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- intervals in range
def test_no_interval_leaves_its_metrics_range(tmp_path):
    """5 seeds at 8, 8, 7, 8, 6 of 8 modes: the t interval of the mean is [6.2, 8.6], past 8 modes;
    high-quality fractions near 0 give a t interval below 0. Reports clip both to the range, and the
    differences to NS-GAN to what a difference can be (at most 8 modes, 100 percentage points)."""
    root = tmp_path / "runs"
    modes, hq = [8, 8, 7, 8, 6], [0.001, 0.0, 0.05, 0.002, 0.0]
    for s in range(5):
        make_run(root, "vanilla", "ring8", s, mixture_metrics(1.0, hq=0.9 - 0.01 * s))
        make_run(root, "wgan", "ring8", s, mixture_metrics(modes[s], hq=hq[s]))
    raw_low, raw_high = sps.t.interval(0.95, 4, loc=np.mean(modes), scale=sps.sem(modes))
    assert raw_high > 8  # the unclipped interval claims more modes than there are
    out = write_report(root, tmp_path / "out", formats=("csv", "md"), figures=False)
    for r in read_csv(out["stats_csv"]):
        if r["ci_low"] in ("", "nan"):
            continue
        lo, hi = float(r["ci_low"]), float(r["ci_high"])
        if r["metric"] in ("modes_covered", "modes_covered_k"):
            assert 0 <= lo <= hi <= 8, r
        if r["metric"] == "hq_fraction":
            assert 0 <= lo <= hi <= 1, r
        if r["metric"] in ("reverse_kl", "frechet_distance", "w1"):
            assert lo >= 0, r
    row = next(r for r in read_csv(out["stats_csv"]) if r["variant"] == "wgan" and r["metric"] == "modes_covered")
    assert float(row["ci_high"]) == 8.0 and float(row["ci_low"]) == pytest.approx(raw_low)
    md = out["md"].read_text()
    assert "95% CI (t, unadjusted, clipped)" in md


COMMITTED_STATS = sorted((Path(__file__).resolve().parents[1] / "reports").rglob("stats.csv"))


@pytest.mark.parametrize("path", COMMITTED_STATS, ids=lambda p: p.parent.relative_to(p.parents[2]).as_posix())
def test_no_interval_in_a_committed_report_leaves_its_metrics_range(path):
    """Issue 20, on the reports as committed: every cell's interval lies in the range its metric can
    take (a count of modes in [0, K] with K the data set's modes, a fraction in [0, 1], a distance >= 0)."""
    from harness.metrics import METRICS
    from harness.resolve import make_dataset
    from harness.spec import make_config

    modes: dict[str, int | None] = {}
    rows = [r for r in read_csv(path) if r["ci_low"] not in ("", "nan")]
    assert rows
    for r in rows:
        if r["dataset"] not in modes:
            modes[r["dataset"]] = getattr(make_dataset(r["dataset"], make_config({})), "n_modes", None)
        low, high = METRICS.get(r["metric"]).bounds(modes[r["dataset"]])
        assert low <= float(r["ci_low"]) <= float(r["ci_high"]) <= high, (r["variant"], r["metric"], r["ci_low"], r["ci_high"])


def test_a_difference_interval_is_clipped_to_the_range_of_differences():
    from harness.report.differences import clip_difference
    from harness.report.stats import Difference

    d = Difference("a", "b", 5, 5, 7.5, 6.0, 9.2, 1.0)
    assert clip_difference(d, "modes_covered", n_modes=8).high == 8.0  # 8 of 8 minus 0 of 8 at most
    assert clip_difference(d, "modes_covered", n_modes=8).low == 6.0
    assert clip_difference(d, "modes_covered", n_modes=None).high == 9.2  # unknown K: no bound
    assert clip_difference(Difference("a", "b", 5, 5, -0.9, -1.3, -0.5, -1.0), "hq_fraction").low == -1.0


def test_the_first_paragraph_names_the_best_and_the_failing_variants_with_numbers(tmp_path):
    """Issue 20: the report opens with what was found: per data set the best variant on the main
    metric and the failing ones, with their numbers, before any table."""
    root = tmp_path / "runs"
    for s in range(5):
        make_run(root, "sngan", "ring8", s, mixture_metrics(7.6 + 0.01 * s, hq=0.5))
        make_run(root, "vanilla", "ring8", s, mixture_metrics(3.0 + 0.01 * s, hq=0.4))
        make_run(root, "wgan", "ring8", s, mixture_metrics(6.0 + 0.01 * s, hq=0.3))
        make_reference(root, "real", "ring8", s, mixture_metrics(8.0, hq=0.99))
        make_reference(root, "null-gaussian", "ring8", s, mixture_metrics(2.0, hq=0.01))
    md = write_report(root, tmp_path / "out", formats=("md",), figures=False)["md"].read_text()
    first = md.split("\n\n")[1]  # the title, then the headline: the first paragraph
    assert md.index(first) < md.index("## Findings") and md.index(first) < md.index("runs and")
    assert first.startswith("ring8 (") and "5 seeds per variant" in first
    assert "SN-GAN, 7.62 of 8 Modes covered" in first and "significantly better than every other" in first
    assert "failing: NS-GAN (3.02 of 8 Modes covered; at most 50% of the modes)" in first
    assert "WGAN (" not in first  # 6 of 8: not failing


COMMITTED_DOCS = sorted([*(Path(__file__).resolve().parents[1] / "reports").rglob("report.md"),
                         *(Path(__file__).resolve().parents[1] / "reports").rglob("tune.md"),
                         *(Path(__file__).resolve().parents[1] / "reports").rglob("dirac.md")])


@pytest.mark.parametrize("path", COMMITTED_DOCS, ids=lambda p: p.relative_to(p.parents[2]).as_posix())
def test_every_committed_report_opens_with_what_was_found_and_its_html_is_small(path):
    """Issue 20 on the reports as committed: the paragraph under the title says what was found, with
    numbers (best and failing variants, or each method's outcome); report.html stays under 400 KB."""
    first = path.read_text().split("\n\n")[1]
    assert re.match(r"(Found|[\w-]+ \()", first), first[:200]
    assert re.search(r"\b(best|highest mean|converge)", first), first[:300]
    assert re.search(r"\d+(\.\d+)? of \d+", first) or re.search(r"\d+ converge \(", first), first[:300]  # numbers
    if path.name == "report.md":
        assert "failing:" in first or "no variant failed" in first, first[:300]
    html = path.with_name("report.html")
    assert not html.exists() or html.stat().st_size < 400_000


def test_the_report_cites_every_variant_and_metric(tmp_path):
    """Issue 20: no report cited the variants' papers or the metrics' sources."""
    from harness.metrics import METRICS

    root = tmp_path / "runs"
    for s in range(2):
        for v in ("vanilla", "wgan-gp", "my-plugin-gan"):
            make_run(root, v, "ring8", s, mixture_metrics(6.0 + s))
    md = write_report(root, tmp_path / "out", formats=("md",), figures=False)["md"].read_text()
    refs = md.split("## References", 1)[1].split("\n## ", 1)[0]
    assert "WGAN-GP (`wgan-gp`): Gulrajani et al. 2017; igul222/improved_wgan_training." in refs
    assert "NS-GAN (`vanilla`): Goodfellow et al. 2014" in refs
    assert "my-plugin-gan (`my-plugin-gan`): no reference declared by the variant." in refs
    for m in mixture_metrics(1.0):
        assert f"(`{m}`): {METRICS.get(m).reference}." in refs and METRICS.get(m).reference


def test_sample_grid_has_a_real_column_and_a_row_per_seed(tmp_path):
    """Issue 20: the stacked-digits sample grid showed one seed and no real panel."""
    from harness.report import analyze, collect_runs
    from harness.report.figures import SAMPLE_SEEDS, samples_figure

    root = tmp_path / "runs"
    rng = np.random.default_rng(0)
    for s in range(4):
        for v in ("vanilla", "wgan-gp"):
            make_run(root, v, "digits", s, {"frechet_distance": 1.0 + s}, n_modes=None, shape=(1, 8, 8),
                     samples=rng.uniform(-1, 1, (64, 1, 8, 8)).astype(np.float32))
    ds = analyze(collect_runs(root)).datasets[0]
    fig = samples_figure(ds)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["real data", "NS-GAN", "WGAN-GP"]  # real first, the reference variant next
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()] == [f"seed {s}" for s in range(SAMPLE_SEEDS)]
    assert len([ax for ax in fig.axes if ax.images]) == 3 * SAMPLE_SEEDS
    real = fig.axes[0].images[0].get_array()
    assert real.shape == (6 * 9 + 1, 6 * 9 + 1) and 0 < float(np.mean(real)) < 1  # real digits, 6 x 6
    one = samples_figure(ds, seed=2)
    assert [ax.get_ylabel() for ax in one.axes if ax.get_ylabel()] == ["seed 2"]
