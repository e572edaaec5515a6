"""The pytest plugin (entry point ``pytest11``): regression checks inside a user's own test suite.

Installing gan-harness makes the fixture ``gan_check`` available to every pytest run, no import or
conftest needed::

    def test_my_wgan_gp_behaves_like_the_reference(gan_check):
        gan_check.variant("my-wgan-gp", against="wgan-gp", seeds=[0, 1, 2])   # fails the test if it regresses

    def test_my_tf_gan(gan_check):
        gan_check.samples(["s0.npy", "s1.npy", "s2.npy"], dataset="ring8", against="vanilla")

Each method runs :mod:`harness.check` (training mode or samples mode) against a baseline — by
default ``ci``, the recorded baseline of the ``ci`` suite shipped with the harness — and raises
``AssertionError`` carrying the whole check table when the check fails or is inconclusive (too
few seeds to judge its rows: ``allow_inconclusive=True`` lets that pass; ``expect_pass=False``
returns the result instead, to assert on it yourself). Runs go to the test's ``tmp_path``. Bad
input (an unknown variant, a missing file, another protocol) is a ``HarnessError``, as on the
command line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest


class GanCheck:
    """What the ``gan_check`` fixture returns."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = Path(tmp_path)
        self._n = 0

    def _runs_out(self) -> Path:
        self._n += 1
        return self.tmp_path / f"gan-check-{self._n}"

    @staticmethod
    def _conclude(result: Any, expect_pass: bool, allow_inconclusive: bool = False) -> Any:
        if not expect_pass or result.passed or (allow_inconclusive and result.inconclusive):
            return result
        what = ("was inconclusive (rows could not be judged with these seeds; pass more seeds, or "
                "allow_inconclusive=True)" if result.inconclusive else "failed")
        raise AssertionError(f"gan-harness check {what}\n" + result.to_text())

    def variant(self, variant: str, against: str, *, suite: str = "ci", seeds: Sequence[int] = (0, 1, 2),
                baseline: Any = "ci", overrides: Mapping[str, Any] | None = None, jobs: int = 1,
                device: str = "cpu", plugins: Sequence[str] = (), expect_pass: bool = True,
                allow_inconclusive: bool = False, **options: Any) -> Any:
        """Train `variant` under `suite` on `seeds` and check it against `against` in `baseline`
        (a recorded file, a shipped baseline name, a runs directory, or None to train `against`
        beside it on the same seeds). `plugins`: modules or .py files that register parts the
        variant needs in worker processes (with jobs > 1). `options`: test, alpha, margin_sds,
        margins, behaviour, statistic (harness.check.check). An INCONCLUSIVE check (too few seeds
        to judge some rows) fails the test too, unless `allow_inconclusive`."""
        from .check import check_variant
        from .plugins import load_plugins

        load_plugins(plugins)
        result = check_variant(variant, against, suite=suite, seeds=seeds, baseline=baseline,
                               runs_out=self._runs_out(), overrides=overrides, jobs=jobs, device=device, **options)
        return self._conclude(result, expect_pass, allow_inconclusive)

    def samples(self, samples: Sequence[Any], dataset: str, *, baseline: Any = "ci", against: str | None = None,
                device: str = "cpu", expect_pass: bool = True, allow_inconclusive: bool = False,
                **options: Any) -> Any:
        """Check final samples of a GAN trained anywhere (one array or .npy/.npz/.pt file per seed,
        the protocol's n_eval samples each) against `against` in `baseline`."""
        from .check import check_samples, resolve_baseline_arg

        result = check_samples(samples, dataset, resolve_baseline_arg(baseline), against=against, device=device,
                               **options)
        return self._conclude(result, expect_pass, allow_inconclusive)

    def runs(self, candidate: Any, baseline: Any = "ci", *, expect_pass: bool = True, allow_inconclusive: bool = False,
             **options: Any) -> Any:
        """Check a runs directory (or a recorded baseline) against `baseline`."""
        from .check import check, resolve_baseline_arg

        return self._conclude(check(candidate, resolve_baseline_arg(baseline), **options), expect_pass,
                              allow_inconclusive)


@pytest.fixture
def gan_check(tmp_path: Path) -> GanCheck:
    """Regression checks against a recorded gan-harness baseline (harness.pytest_plugin)."""
    return GanCheck(tmp_path)
