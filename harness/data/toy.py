"""Toy 2-D Gaussian mixtures for mode-collapse studies (geometry and sources: README, "Data sets").

- ring8: 8 centres on a circle of radius 2 at angles 2 pi k / 8, k = 0..7, sigma 0.02 (Unrolled GAN);
  also named unrolled-ring.
- grid25: the 5 x 5 grid {-4, -2, 0, 2, 4}^2, sigma 0.05 (VEEGAN, PacGAN).
- 8gaussians, 25gaussians: the WGAN-GP authors' toy script (gan_toy.py), scaled as it scales them.
- pacgan-ring: PacGAN's ring, radius 1, sigma 0.01.
- families, any geometry: ring:modes=K,radius=R,sigma=S; grid:side=N,spacing=D,sigma=S;
  centres:path=FILE,sigma=S (a (K, 2) .npy or .csv file of centres).
Components are equally likely.
"""
from __future__ import annotations

import difflib
import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..errors import HarnessError
from ..metrics.distances import frechet_distance_samples, wasserstein1_exact
from ..metrics.modes import HQ_THRESHOLD, KEEP_FRACTION, mode_metrics, nearest_centres
from ..rng import generator
from .base import DATASETS, Dataset, DatasetFamily, Evaluator

REFERENCE_SEED = 0  # the real reference sample every evaluator compares against


def ring_centres(k: int = 8, radius: float = 2.0) -> np.ndarray:
    # arange, not linspace(0, 2 pi, k): linspace includes the end point and duplicates a mode
    angles = 2 * math.pi * np.arange(k) / k
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def grid_centres(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    coords = (np.arange(side) - (side - 1) / 2) * spacing
    xx, yy = np.meshgrid(coords, coords, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


class Mixture(Dataset):
    evaluator_options = ("n_w1",)

    def __init__(self, name: str, centres: np.ndarray, sigma: float, source: str = "",
                 params: dict[str, Any] | None = None, geometry_in_protocol: bool = True):
        self.name = name
        self.centres = np.asarray(centres, dtype=np.float64)
        self.sigma = float(sigma)
        self.source = source
        self.params = dict(params) if params else None  # a family member's parameters (manifest)
        # The evaluator protocol names the data set (name, modes, sigma), so that numbers of two
        # geometries never compare as one protocol. ring8 and grid25 predate this and keep their
        # protocol as recorded in baselines/quick.json (their names are fixed geometries).
        self.geometry_in_protocol = bool(geometry_in_protocol)
        self.shape = (self.centres.shape[1],)
        self._centres_t = torch.as_tensor(self.centres, dtype=torch.float32)

    @property
    def n_modes(self) -> int:
        return len(self.centres)

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(self.n_modes, (n,), generator=gen)
        noise = torch.randn((n, self.shape[0]), generator=gen)
        return self._centres_t[idx] + self.sigma * noise

    def null_models(self) -> dict[str, Any]:
        """``real``; ``null-gaussian``: one Gaussian with the mixture's mean and covariance;
        ``null-uniform``: uniform over the centres' bounding box widened on every side by half the
        median distance between neighbouring centres."""
        mean = self.centres.mean(axis=0)
        cov = np.cov(self.centres, rowvar=False, bias=True).reshape(self.shape * 2) + self.sigma ** 2 * np.eye(self.shape[0])
        chol = torch.as_tensor(np.linalg.cholesky(cov), dtype=torch.float64)
        lo, hi = self.uniform_box()

        def gaussian(n: int, gen: torch.Generator) -> torch.Tensor:
            z = torch.randn((n, self.shape[0]), generator=gen, dtype=torch.float64)
            return torch.as_tensor(mean) + z @ chol.T

        def uniform(n: int, gen: torch.Generator) -> torch.Tensor:
            u = torch.rand((n, self.shape[0]), generator=gen, dtype=torch.float64)
            return torch.as_tensor(lo) + u * torch.as_tensor(hi - lo)

        return {"real": self.sample, "null-gaussian": gaussian, "null-uniform": uniform}

    def uniform_box(self) -> tuple[np.ndarray, np.ndarray]:
        d = np.linalg.norm(self.centres[:, None] - self.centres[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        margin = 0.5 * float(np.median(d.min(axis=1))) if self.n_modes > 1 else 3 * self.sigma
        return self.centres.min(axis=0) - margin, self.centres.max(axis=0) + margin

    def sample_exact(self, n: int, seed: int) -> np.ndarray:
        return self.sample(n, generator(seed, f"{self.name}:exact")).double().numpy()

    def evaluator(self, n_eval: int, *, device: str = "cpu", n_w1: int = 1000) -> "MixtureEvaluator":
        """`device` is accepted for the common interface: the metric math runs on the CPU in float64."""
        return MixtureEvaluator(self, n_eval, n_w1)

    def describe(self) -> dict[str, Any]:
        out = {"name": self.name, "shape": list(self.shape), "n_modes": self.n_modes, "sigma": self.sigma,
               "centres": self.centres.tolist(), "source": self.source}
        if self.params is not None:
            out["params"] = dict(self.params)
        return out


class MixtureEvaluator(Evaluator):
    metrics = ("modes_covered_k", "modes_covered", "hq_fraction", "reverse_kl", "frechet_distance", "w1")

    def __init__(self, data: Mixture, n_eval: int, n_w1: int):
        self.data = data
        self.n_eval = int(n_eval)
        self.n_w1 = int(min(n_w1, n_eval))
        ref_gen = generator(REFERENCE_SEED, f"{data.name}:reference")
        self.reference = data.sample(self.n_eval, ref_gen).double().numpy()

    def check_samples(self, samples: Any) -> np.ndarray:
        arr = np.asarray(samples.detach().cpu() if isinstance(samples, torch.Tensor) else samples)
        if arr.ndim != 2 or arr.shape[1] != self.data.shape[0]:
            raise HarnessError(f"samples for {self.data.name} must have shape (N, {self.data.shape[0]}), got {tuple(arr.shape)}")
        if arr.shape[0] < 2:
            raise HarnessError(f"need at least 2 samples, got {arr.shape[0]}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise HarnessError(f"samples must be real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise HarnessError(f"samples contain {int((~np.isfinite(arr)).sum())} NaN/Inf values")
        return arr

    def evaluate(self, samples: Any) -> dict[str, float]:
        return self.evaluate_with_details(samples)[0]

    def evaluate_with_details(self, samples: Any) -> tuple[dict[str, float], dict[str, Any]]:
        """The metrics, and per mode the number of high-quality samples whose nearest centre it is
        (``mode_counts``: which modes are covered, not only how many)."""
        x = self.check_samples(samples)
        out = mode_metrics(x, self.data.centres, self.data.sigma)
        idx, dist = nearest_centres(x, self.data.centres, self.data.sigma)
        counts = np.bincount(idx[dist < HQ_THRESHOLD], minlength=self.data.n_modes)
        ref = self.reference if len(x) == self.n_eval else self._reference(len(x))
        out["frechet_distance"] = frechet_distance_samples(ref, x)
        n = min(self.n_w1, len(x))
        out["w1"] = wasserstein1_exact(ref[:n], x[:n])
        return out, {"mode_counts": [int(c) for c in counts]}

    def _reference(self, n: int) -> np.ndarray:
        return self.data.sample(n, generator(REFERENCE_SEED, f"{self.data.name}:reference")).double().numpy()

    def protocol(self) -> dict[str, Any]:
        out = {"n_eval": self.n_eval, "n_w1": self.n_w1, "reference_seed": REFERENCE_SEED,
               "hq_threshold_sigma": HQ_THRESHOLD, "mode_metrics": "VEEGAN (Srivastava et al. 2017)",
               "modes_covered_k": f"modes with >= ceil({KEEP_FRACTION} N / K) high-quality samples"}
        if self.data.geometry_in_protocol:
            out["data"] = {"name": self.data.name, "n_modes": self.data.n_modes, "sigma": self.data.sigma}
        return out


def _ring8(**_: Any) -> Mixture:
    """8 Gaussians on a circle of radius 2, sigma 0.02 (Unrolled GAN)"""
    return Mixture("ring8", ring_centres(8, 2.0), 0.02, "Unrolled GAN (Metz et al. 2017)", geometry_in_protocol=False)


def _grid25(**_: Any) -> Mixture:
    """5 x 5 grid of Gaussians {-4,-2,0,2,4}^2, sigma 0.05 (VEEGAN, PacGAN)"""
    return Mixture("grid25", grid_centres(5, 2.0), 0.05, "VEEGAN (Srivastava et al. 2017), PacGAN (Lin et al. 2018)",
                   geometry_in_protocol=False)


#: WGAN-GP's gan_toy.py: centres scaled by 2, noise 0.02 N(0, I), then every point divided by 1.414
WGAN_GP_TOY_SOURCE = "WGAN-GP (Gulrajani et al. 2017), gan_toy.py"


def eight_gaussians_centres() -> np.ndarray:
    """gan_toy.py's 8gaussians centres, in its order, before its division by 1.414."""
    r = 1.0 / math.sqrt(2.0)
    unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (r, r), (r, -r), (-r, r), (-r, -r)]
    return 2.0 * np.array(unit, dtype=np.float64)


def _8gaussians(**_: Any) -> Mixture:
    """WGAN-GP toy 8gaussians: centres 2(+-1,0), 2(0,+-1), 2(+-1/sqrt2,+-1/sqrt2), noise 0.02, all / 1.414 (radius 1.414, sigma 0.0141)"""
    return Mixture("8gaussians", eight_gaussians_centres() / 1.414, 0.02 / 1.414, WGAN_GP_TOY_SOURCE)


def _25gaussians(**_: Any) -> Mixture:
    """WGAN-GP toy 25gaussians: centres (2x, 2y), x, y in -2..2, noise 0.05, all / 2.828 (spacing 0.707, sigma 0.0177)"""
    return Mixture("25gaussians", grid_centres(5, 2.0) / 2.828, 0.05 / 2.828, WGAN_GP_TOY_SOURCE)


def _pacgan_ring(**_: Any) -> Mixture:
    """PacGAN's 2-D ring: 8 centres (cos 2 pi i/8, sin 2 pi i/8), radius 1, sigma 0.01 (Lin et al. 2018)"""
    return Mixture("pacgan-ring", ring_centres(8, 1.0), 0.01, "PacGAN (Lin et al. 2018)")


DATASETS.register("ring8", _ring8)
DATASETS.register("grid25", _grid25)
DATASETS.register("8gaussians", _8gaussians)
DATASETS.register("25gaussians", _25gaussians)
DATASETS.register("pacgan-ring", _pacgan_ring)
UNROLLED_RING_NOTE = (
    "= ring8: the Unrolled GAN ring with 8 distinct modes, radius 2, sigma 0.02, as the paper's text says; "
    "the notebook's own code, linspace(0, 2 pi, 8), yields only 7 distinct modes (its first and last angles "
    "coincide, so that mode has twice the weight)")
DATASETS.alias("unrolled-ring", "ring8", UNROLLED_RING_NOTE)


# ----------------------------------------------------------------------------- families: any geometry
#: the most components a family member may have (the evaluator holds an N x K distance matrix)
MAX_MODES = 10_000


def _number(value: float) -> str:
    """A float's canonical spelling: the shortest that round-trips, without a trailing '.0'."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "int" (1..MAX_MODES), "float" (> 0, finite), "path" or "text"
    default: Any = None  # None: required
    help: str = ""


class MixtureFamily(DatasetFamily):
    """Members ``name:key=value,...``; the canonical name lists every parameter (defaults filled in)
    sorted by key, numbers in their shortest round-trip spelling."""

    def __init__(self, name: str, params: tuple[Param, ...], centres: Callable[[dict[str, Any]], np.ndarray],
                 source: str, description: str):
        self.name = name
        self.params = {p.name: p for p in params}
        self._centres = centres
        self.source = source
        self.description = description
        self.usage = f"{name}:" + ",".join(f"{p.name}={p.help}" for p in params if p.help)

    def parse(self, text: str) -> dict[str, Any]:
        spec = f"{self.name}:{text}"
        given: dict[str, str] = {}
        items = [] if not text.strip() else text.split(",")
        for item in items:
            key, eq, value = item.partition("=")
            key, value = key.strip().casefold(), value.strip()
            if not eq or not key or not value:
                raise HarnessError(f"data set {spec!r}: expected key=value, got {item.strip()!r} ({self.usage})")
            if key not in self.params:
                hint = difflib.get_close_matches(key, list(self.params), n=1)
                raise HarnessError(f"data set {spec!r}: unknown parameter {key!r}"
                                   + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                   + f"; {self.name} takes: {', '.join(self.params)}")
            if key in given:
                raise HarnessError(f"data set {spec!r}: parameter {key!r} is given twice")
            given[key] = value
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if name not in given:
                if p.default is None:
                    raise HarnessError(f"data set {spec!r}: missing parameter {name!r} (no default; {self.usage})")
                out[name] = p.default
                continue
            out[name] = self._value(spec, p, given[name])
        return out

    @staticmethod
    def _value(spec: str, p: Param, text: str) -> Any:
        if p.kind == "path":
            return os.path.normpath(text)
        if p.kind == "text":
            return text
        try:
            number = float(text)
        except ValueError:
            raise HarnessError(f"data set {spec!r}: {p.name}={text!r} is not a number") from None
        if not math.isfinite(number):
            raise HarnessError(f"data set {spec!r}: {p.name}={text} must be finite")
        if p.kind == "int":
            if not number.is_integer() or not 1 <= number <= MAX_MODES:
                raise HarnessError(f"data set {spec!r}: {p.name}={text} must be an integer from 1 to {MAX_MODES}")
            return int(number)
        if number <= 0:
            raise HarnessError(f"data set {spec!r}: {p.name}={text} must be > 0")
        return number

    def _name(self, values: dict[str, Any]) -> str:
        def show(v: Any) -> str:
            return _number(v) if isinstance(v, float) else str(v)

        return f"{self.name}:" + ",".join(f"{k}={show(values[k])}" for k in sorted(values))

    def canonical(self, params: str) -> str:
        values = self.parse(params)
        centres = self._centres(values)  # validates (files, sizes) before anything is written
        if len(centres) > MAX_MODES:
            raise HarnessError(f"data set {self._name(values)!r} has {len(centres)} modes; at most {MAX_MODES}")
        return self._name(values)

    def build(self, canonical: str) -> Mixture:
        _, _, params = canonical.partition(":")
        values = self.parse(params)
        return Mixture(self._name(values), self._centres(values), values["sigma"], self.source,
                       params={"family": self.name, **values})


def read_centres(path: str) -> np.ndarray:
    """A (K, 2) array of finite, distinct centres from an .npy file or a .csv file (comma-separated,
    '#' comments; one header line is skipped when the first line is not numeric)."""
    p = Path(path)
    if not p.is_file():
        raise HarnessError(f"centres file not found: {path}" if not p.exists() else f"centres path is not a file: {path}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif suffix == ".csv":
            try:
                arr = np.loadtxt(p, delimiter=",", ndmin=2, dtype=np.float64)
            except ValueError:
                arr = np.loadtxt(p, delimiter=",", ndmin=2, dtype=np.float64, skiprows=1)
        else:
            raise HarnessError(f"centres file {path}: unsupported type {suffix!r}; use .npy or .csv")
    except HarnessError:
        raise
    except Exception as exc:
        raise HarnessError(f"could not read centres from {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise HarnessError(f"centres file {path} must hold a (K, 2) array of centres, got shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise HarnessError(f"centres file {path} must hold real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise HarnessError(f"centres file {path} holds {int((~np.isfinite(arr)).sum())} NaN/Inf values")
    _, first, counts = np.unique(arr, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        row = int(first[np.argmax(counts > 1)])
        raise HarnessError(f"centres file {path}: centre {arr[row].tolist()} (row {row}) is listed more than once")
    return arr


def centres_digest(centres: np.ndarray) -> str:
    """The first 16 hex digits of the SHA-256 of the centres as little-endian float64."""
    return hashlib.sha256(np.ascontiguousarray(centres, dtype="<f8").tobytes()).hexdigest()[:16]


class CentresFamily(MixtureFamily):
    """``centres:path=FILE,sigma=S``. The canonical name adds ``sha256=`` (of the centres read from
    the file), so a file whose content changes names another data set; a name carrying a sha256 that
    no longer matches the file is refused."""

    def parse(self, text: str) -> dict[str, Any]:
        values = super().parse(text)
        centres = read_centres(values["path"])
        digest = centres_digest(centres)
        if values["sha256"] not in ("", digest):
            raise HarnessError(f"centres file {values['path']} has changed: its centres hash to sha256={digest}, "
                               f"the data set names sha256={values['sha256']}")
        values["sha256"] = digest
        return values


def _ring_family(v: dict[str, Any]) -> np.ndarray:
    return ring_centres(v["modes"], v["radius"])


def _grid_family(v: dict[str, Any]) -> np.ndarray:
    if v["side"] ** 2 > MAX_MODES:
        raise HarnessError(f"data set grid:side={v['side']}: {v['side'] ** 2} modes; at most {MAX_MODES}")
    return grid_centres(v["side"], v["spacing"])


DATASETS.register_family(MixtureFamily(
    "ring", (Param("modes", "int", 8, "K"), Param("radius", "float", 2.0, "R"), Param("sigma", "float", 0.02, "S")),
    _ring_family, "ring family: K centres at angles 2 pi k / K on a circle of radius R",
    "K Gaussians at angles 2 pi k/K, k = 0..K-1, on a circle of radius R, sigma S (defaults: ring8's 8, 2, 0.02)"))
DATASETS.register_family(MixtureFamily(
    "grid", (Param("side", "int", 5, "N"), Param("spacing", "float", 2.0, "D"), Param("sigma", "float", 0.05, "S")),
    _grid_family, "grid family: N x N centres D apart, centred on the origin",
    "N x N grid of Gaussians D apart, centred on the origin, sigma S (defaults: grid25's 5, 2, 0.05)"))
DATASETS.register_family(CentresFamily(
    "centres", (Param("path", "path", None, "FILE"), Param("sha256", "text", ""), Param("sigma", "float", None, "S")),
    lambda v: read_centres(v["path"]), "a centres file",
    "Gaussians at the centres in FILE ((K, 2) .npy or .csv), sigma S (no defaults; sha256 is filled in)"))
