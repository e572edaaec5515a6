"""Metric math: pure functions on arrays (float64), separate from feature extraction.

``METRICS`` declares, for every metric name a run can report, whether higher is better and what
it measures; reports use it to mark the best variant and draw arrows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..registry import Registry


@dataclass(frozen=True)
class MetricInfo:
    """What a report needs to know about a metric, declared once on its record.

    - ``main``: the metric verdicts and curve summaries read (mode coverage where a data set has
      modes); the first registered metric a run reports with ``main`` set is its main metric.
    - ``quality``: a sample-quality metric, compared with the null rows to call a run ``underfit``.
    - ``collapse``: a drop in this metric (to few modes) is read as mode collapse.
    - ``target``: what "reaching the target" means: ``"n_modes"`` (all of the data set's modes) or
      None (no target).
    - ``percent``: shown in per cent in reports (a fraction in [0, 1] stored as such).
    - ``resolution``: the smallest step the metric takes (1 for a count of modes; 0 for a continuous
      metric). A regression check floors the metric's sd at resolution/√12, the sd of rounding to
      that step, so a count whose baseline seeds all agree is not judged on a zero spread.
    - ``headline``: one of the few columns of a paper's main table (the rest go to the appendix).
    - ``log``: a distance spread over decades: figures draw it on a log axis.
    - ``label``: the name tables and figures show ("" = the registered name); ``symbol``: a short
      form for narrow table headers ("" = the label).
    - ``reference``: where the definition comes from (paper, reference code); reports cite it.
    - ``lower``, ``upper``: the range the metric's values lie in (None: unbounded; ``upper`` may be
      ``"n_modes"``, the data set's number of modes). Reports clip intervals to it, so that no
      interval claims a value the metric cannot take (a negative fraction, 27.5 of 25 modes).
    """

    higher_is_better: bool
    description: str
    version: str = "1"
    main: bool = False
    quality: bool = False
    collapse: bool = False
    target: str | None = None
    percent: bool = False
    resolution: float = 0.0
    headline: bool = False
    log: bool = False
    label: str = ""
    symbol: str = ""
    lower: float | None = None
    upper: float | str | None = None
    reference: str = ""  # the paper (and code) the metric's definition follows; reports cite it

    def bounds(self, n_modes: int | None = None) -> tuple[float, float]:
        """(lower, upper) as floats, -inf/+inf where unbounded or where ``"n_modes"`` is unknown."""
        lo = -math.inf if self.lower is None else float(self.lower)
        if self.upper == "n_modes":
            hi = float(n_modes) if n_modes else math.inf
        else:
            hi = math.inf if self.upper is None else float(self.upper)
        return lo, hi


METRICS: Registry[MetricInfo] = Registry("metric")
_ROLES = {
    "modes_covered_k": dict(main=True, target="n_modes", resolution=1.0, headline=True,
                            label="Modes covered (>= k HQ)", symbol="Modes≥k", lower=0.0, upper="n_modes",
        reference="this harness: the VEEGAN count (Srivastava et al. 2017) with a floor of k high-quality samples per mode"),
    "modes_covered": dict(main=True, collapse=True, target="n_modes", resolution=1.0, headline=True,
                          label="Modes covered", symbol="Modes", lower=0.0, upper="n_modes",
        reference="Srivastava et al. 2017 (VEEGAN), as PacGAN (Lin et al. 2018) reports it"),
    "hq_fraction": dict(quality=True, percent=True, headline=True, label="High-quality samples", symbol="HQ",
                        lower=0.0, upper=1.0,
        reference="Srivastava et al. 2017 (VEEGAN): within 3 standard deviations of the nearest centre"),
    "reverse_kl": dict(headline=True, label="Reverse KL divergence", symbol="KL", lower=0.0,
        reference="Srivastava et al. 2017 (VEEGAN); Lin et al. 2018 (PacGAN)"),
    "frechet_distance": dict(log=True, label="Fréchet distance", symbol="FD", lower=0.0,
        reference="Dowson & Landau 1982 (the Fréchet distance of two Gaussians), as FID (Heusel et al. 2017) uses it"),
    "w1": dict(headline=True, log=True, label="Wasserstein-1 distance", symbol="W1", lower=0.0,
        reference="Arjovsky et al. 2017 (the distance WGAN estimates); exact by optimal assignment (scipy linear_sum_assignment)"),
    "fid": dict(quality=True, headline=True, log=True, label="FID", lower=0.0,
        reference="Heusel et al. 2017; torchmetrics FrechetInceptionDistance"),
    "fid_inf": dict(log=True, label="FID∞",
        reference="Chong & Forsyth 2020, “Effectively unbiased FID and Inception Score and where to find them”"),  # an extrapolation: may fall below 0
    "kid": dict(headline=True, label="KID",
        reference="Bińkowski et al. 2018, “Demystifying MMD GANs”; torchmetrics KernelInceptionDistance"),  # unbiased MMD²: may be negative
    "precision": dict(percent=True, label="Precision", symbol="Prec.", lower=0.0, upper=1.0,
        reference="Kynkäänniemi et al. 2019, “Improved precision and recall metric for assessing generative models”"),
    "recall": dict(percent=True, label="Recall", symbol="Rec.", lower=0.0, upper=1.0,
        reference="Kynkäänniemi et al. 2019, “Improved precision and recall metric for assessing generative models”"),
    "density": dict(label="Density", symbol="Dens.", lower=0.0,
        reference="Naeem et al. 2020, “Reliable fidelity and diversity metrics for generative models” (clovaai/generative-evaluation-prdc)"),
    "coverage": dict(percent=True, label="Coverage", symbol="Cov.", lower=0.0, upper=1.0,
        reference="Naeem et al. 2020, “Reliable fidelity and diversity metrics for generative models” (clovaai/generative-evaluation-prdc)"),
}
for _name, _hib, _desc in [
    ("modes_covered_k", True, "2-D: modes holding >= k high-quality samples, k = ceil(0.1 N / K) (a tenth of a "
                              "perfect sampler's share; uniform noise reaches it in no grid25 mode)"),
    ("modes_covered", True, "2-D: modes that are the nearest centre of >= 1 high-quality sample (VEEGAN); "
                            "stacked digits: distinct classifier label triples among all samples"),
    ("hq_fraction", True, "fraction of samples within 3 sigma of their nearest centre (VEEGAN); perfect = 0.989"),
    ("reverse_kl", False, "KL(p_hat || uniform over modes); 2-D: high-quality samples only, inf if none; "
                          "stacked digits: all samples over the 1,000 label triples"),
    ("frechet_distance", False, "Frechet distance between Gaussian fits of real and generated samples"),
    ("w1", False, "exact Wasserstein-1 distance between equal-size real and generated samples"),
    # image metrics (harness/metrics/fid.py, kid.py, prdc.py, stacked.py); modes_covered and reverse_kl
    # above also name the stacked-digits mode metrics (label tuples from the classifier, all samples)
    ("fid", False, "Frechet distance between Gaussian fits of real and generated features (FID); biased in N"),
    ("fid_inf", False, "FID extrapolated to N = infinity by a linear fit in 1/N (Chong & Forsyth 2020)"),
    ("kid", False, "unbiased MMD^2, kernel (x.y/d + 1)^3, mean over 100 subsets of 1,000 (KID)"),
    ("precision", True, "generated samples inside the real k-NN manifold, k = 3 (Kynkaanniemi et al. 2019)"),
    ("recall", True, "real samples inside the generated k-NN manifold, k = 3 (Kynkaanniemi et al. 2019)"),
    ("density", True, "mean count of real k-NN balls holding a generated sample / k, k = 5 (Naeem et al. 2020)"),
    ("coverage", True, "real samples whose k-NN ball holds a generated sample, k = 5 (Naeem et al. 2020)"),
]:
    METRICS.register(_name, MetricInfo(_hib, _desc, **_ROLES.get(_name, {})))
