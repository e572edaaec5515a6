"""Proof that the regression check fails when it should and passes when it should (issue: "Proof
that the check can fail"). docs/CHECK.md has the full-budget detection table and the false-alarm
rate measured on real trainings (benchmarks/check_detection.py); these tests are its fast version:

- every mutant (tests/mutants.py: gradient-penalty sign flipped, clipping removed from WGAN,
  spectral norm removed from SN-GAN, the D loss's sign flipped, the saturating G loss, lr_d x 10)
  fails against a baseline of its reference variant, and the reference variant itself, trained on
  the same fresh seeds, passes against the same baseline with the same options (without that
  control a check that fails everything would pass the mutant half);
- a plain-PyTorch re-implementation of `vanilla` (tests/plain_vanilla.py, no harness.trainer)
  passes against the shipped `ci` baseline in samples mode, and a broken copy of it fails.
"""
from __future__ import annotations

import numpy as np
import pytest

import mutants
import plain_vanilla
from harness.baseline import build_baseline, decode_non_finite
from harness.check import check_samples, check_variant, packaged_baseline
from harness.resolve import resolve_run
from harness.suite import SUITES, expand_suite, run_specs

# The ci suite's protocol at a tiny budget (4 baseline seeds, 3 candidate seeds, 100 G steps).
TINY = {"steps": 100, "batch_size": 64, "log_every": 10, "eval_every": 50, "n_eval": 500, "n_w1": 200,
        "g_hidden": 32, "d_hidden": 32, "g_layers": 2, "d_layers": 2}
BASE_SEEDS, CAND_SEEDS = (0, 1, 2, 3), (4, 5, 6)
# 4 baseline seeds are too few for the default rank tests to judge anything at alpha / m, so this
# fast version uses the Welch statistic with a wide margin, so that the control (the reference on
# fresh seeds) passes on any machine: with 3 candidate against 4 baseline seeds the default k = 8
# leaves 2-3 % false alarms per row (docs/CHECK.md); k = 20 leaves 0.1-0.2 %. The mutants must fail
# even so. benchmarks/check_detection.py runs the default statistic at the ci suite's full budget.
K = 20.0


@pytest.fixture(scope="module")
def tiny_baseline(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-baseline")
    specs = expand_suite(SUITES.get("ci").with_(seeds=BASE_SEEDS, overrides={**SUITES.get("ci").overrides, **TINY}))
    run_specs(specs, out, jobs=1, progress=False, references=False)
    return decode_non_finite(build_baseline(out))


# At 100 G steps of 32-unit networks the saturating G loss shows only in G's loss value (about 8 seed
# sds), inside this test's 20-sd margin: it is proven at the ci suite's budget below instead.
TINY_SEPARABLE = [m for m in mutants.MUTANTS if m != "mutant-saturating"]


@pytest.mark.parametrize("mutant", TINY_SEPARABLE)
def test_every_mutant_fails_against_its_reference(mutant, tiny_baseline, tmp_path):
    reference, overrides = mutants.MUTANTS[mutant]
    cfg = resolve_run(reference, "ring8", 0, TINY, setting="2d").config
    result = check_variant(mutants.candidate(mutant), reference, seeds=CAND_SEEDS, baseline=tiny_baseline,
                           runs_out=tmp_path, suite_overrides=TINY, overrides=overrides(cfg), margin_sds=K,
                           statistic="mean")
    assert not result.passed, result.to_text()
    assert result.exit_status == 1


@pytest.mark.parametrize("reference", ["vanilla", "wgan", "wgan-gp", "sngan"])
def test_the_reference_itself_passes_on_fresh_seeds(reference, tiny_baseline, tmp_path):
    result = check_variant(reference, reference, seeds=CAND_SEEDS, baseline=tiny_baseline, runs_out=tmp_path,
                           suite_overrides=TINY, margin_sds=K, statistic="mean")
    assert result.passed, result.to_text()
    assert any(r.metric.startswith("probe:") for r in result.rows)  # behaviour was compared, not only metrics


@pytest.mark.slow
@pytest.mark.parametrize("variant, should_pass", [("mutant-saturating", False), ("vanilla", True)])
def test_the_saturating_g_loss_fails_at_the_ci_budget_and_vanilla_passes(variant, should_pass, tmp_path):
    """The default statistic against the shipped ci baseline (12 seeds), 5 fresh seeds at the ci
    suite's full budget, α = 0.01 so that the control fails on another machine in at most 1 % of
    runs (the permutation test's bound holds for any distribution of seeds). 5 seeds so that every
    row is judgeable at 0.01 whatever the rows' correlation: 15 rows x 2/C(17, 5) = 0.005."""
    result = check_variant(variant, "vanilla", seeds=(100, 101, 102, 103, 104), baseline="ci", runs_out=tmp_path,
                           alpha=0.01, jobs=2)
    assert result.verdict == ("PASS" if should_pass else "FAIL"), result.to_text()
    if not should_pass:
        assert any(r.metric.startswith("probe:") for r in result.regressions)


@pytest.fixture(scope="module")
def plain_samples():
    return [plain_vanilla.train_vanilla(seed) for seed in (100, 101, 102)]


@pytest.mark.slow
def test_plain_pytorch_vanilla_passes_against_the_shipped_ci_baseline(plain_samples):
    path = packaged_baseline("ci")
    assert path is not None, "baselines/ci.json is not shipped"
    result = check_samples(plain_samples, "ring8", path, against="vanilla")
    assert result.passed, result.to_text()
    modes = result.row("samples/ring8", "modes_covered")
    assert modes.candidate_mean >= 7  # it learned the ring, as the reference does


@pytest.mark.slow
def test_a_plain_vanilla_with_its_d_loss_sign_flipped_fails():
    """The same plain loop with one bug, D's loss sign flipped: the check against the shipped ci
    baseline must say FAIL (exit 1), not PASS and not INCONCLUSIVE."""
    broken = [plain_vanilla.train_vanilla(seed, flip_d_sign=True) for seed in (100, 101, 102)]
    result = check_samples(broken, "ring8", packaged_baseline("ci"), against="vanilla")
    assert result.verdict == "FAIL" and result.exit_status == 1, result.to_text()


@pytest.mark.slow
def test_a_broken_plain_vanilla_fails(plain_samples):
    """The same samples with every point pulled into two modes (a collapsed generator) must fail."""
    collapsed = [np.where(s[:, :1] > 0, np.array([2.0, 0.0]), np.array([-2.0, 0.0])) + 0.02 * s / np.abs(s).max()
                 for s in plain_samples]
    result = check_samples(collapsed, "ring8", packaged_baseline("ci"), against="vanilla")
    assert not result.passed
    assert result.row("samples/ring8", "modes_covered").failed
