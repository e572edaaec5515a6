"""Figures (seaborn on matplotlib's Agg canvas, PNG and PDF) from stored rows only.

Figures are drawn on :class:`matplotlib.figure.Figure` objects, never through pyplot, so making a
report changes no global matplotlib state (backend, rcParams) in the caller's process. PNG and PDF
metadata that would carry a date or a version string are stripped, and no random jitter is used,
so the same runs give the same bytes on the same software stack.

Per data set:

- ``curves_<data>``: each metric vs step, mean over seeds per variant with the seeds' min-max band
  (evaluations.jsonl);
- ``gradients_<data>``: grad_norm_g, grad_norm_d, input_grad_{real,fake,interp} vs step, log scale
  (history.jsonl), same aggregation;
- ``final_<data>``: final metric per run, points over boxes per variant;
- ``snapshots_<data>`` (2-D data): one row per variant (its first seed): generated samples over the
  real ones, with D's raw output as a filled contour, at up to five evaluation steps;
- ``samples_<data>`` (image data): an 8 x 8 grid of final samples per variant (first seed).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.figure import Figure

from .analysis import Analysis, DatasetResult
from .collect import Run

PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
GRADIENT_KEYS = ("grad_norm_g", "grad_norm_d", "input_grad_real", "input_grad_fake", "input_grad_interp")
SNAPSHOT_COLUMNS = 5
GRID_SIDE = 8
DPI = 100
BAND = ("pi", 100)  # seaborn errorbar: the band spans the seeds' min to max at each step
REAL_COLOUR, FAKE_COLOUR, D_CMAP = "black", "#e7298a", "BrBG"  # GAN-Lab-like: points stand out from D


@dataclass
class FigureFile:
    stem: str
    caption: str
    paths: dict[str, Path]  # extension -> file
    png: bytes


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"


def palette(variants: Sequence[str]) -> dict[str, tuple]:
    import seaborn as sns

    cols = sns.color_palette("colorblind", max(len(variants), 1))
    return {v: tuple(cols[i % len(cols)]) for i, v in enumerate(variants)}


def _save(fig: Figure, out_dir: Path, stem: str, caption: str) -> FigureFile:
    out_dir.mkdir(parents=True, exist_ok=True)
    png, pdf = out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"
    fig.savefig(png, format="png", dpi=DPI, metadata=PNG_METADATA)
    fig.set_layout_engine("none")  # keep the positions the first save laid out; do not lay out twice
    fig.savefig(pdf, format="pdf", dpi=DPI, metadata=PDF_METADATA)
    return FigureFile(stem, caption, {"png": png, "pdf": pdf}, png.read_bytes())


def _grid(n_panels: int, width: float = 3.6, height: float = 2.8, max_cols: int = 3) -> tuple[Figure, list]:
    cols = min(max_cols, max(n_panels, 1))
    rows = -(-max(n_panels, 1) // cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n_panels)]
    return fig, axes


def _tidy(runs: Sequence[Run], source: str, keys: Sequence[str], positive: bool = False) -> pd.DataFrame:
    frames = []
    for r in runs:
        df = getattr(r, source)
        if df is None or df.empty or "step" not in df.columns:
            continue
        cols = [k for k in keys if k in df.columns]
        if not cols:
            continue
        long = df[["step", *cols]].melt(id_vars="step", var_name="key", value_name="value")
        long["value"] = pd.to_numeric(long["value"], errors="coerce")
        long["variant"], long["seed"] = r.variant, r.seed
        frames.append(long)
    if not frames:
        return pd.DataFrame(columns=["step", "key", "value", "variant", "seed"])
    out = pd.concat(frames, ignore_index=True)
    keep = np.isfinite(out["value"].to_numpy(np.float64)) & np.isfinite(pd.to_numeric(out["step"]).to_numpy(np.float64))
    if positive:
        keep &= out["value"].to_numpy(np.float64) > 0
    return out[keep].reset_index(drop=True)


def _decade_axis(ax, values: np.ndarray) -> None:
    """Log scale over whole decades (at least one): readable ticks even for a flat curve."""
    from matplotlib.ticker import LogLocator, NullFormatter

    ax.set_yscale("log")
    lo, hi = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
    ax.set_ylim(10.0 ** lo, 10.0 ** max(hi, lo + 1))
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _lines(ds: DatasetResult, source: str, keys: Sequence[str], pal: dict, log: bool) -> Figure | None:
    import seaborn as sns

    runs = [r for v in ds.variants for r in ds.runs[v]]
    data = _tidy(runs, source, keys, positive=log)
    keys = [k for k in keys if (data["key"] == k).any()]
    if not keys:
        return None
    with sns.axes_style("whitegrid"):
        fig, axes = _grid(len(keys))
        for i, (ax, key) in enumerate(zip(axes, keys)):
            part = data[data["key"] == key]
            order = [v for v in ds.variants if (part["variant"] == v).any()]
            sns.lineplot(data=part, x="step", y="value", hue="variant", hue_order=order, palette=pal,
                         estimator="mean", errorbar=BAND, ax=ax, legend=i == 0)
            ax.set_title(key)
            ax.set_ylabel("")
            if log:
                _decade_axis(ax, part["value"].to_numpy(np.float64))
        if axes and axes[0].get_legend() is not None:
            sns.move_legend(axes[0], "best", fontsize="small", title=None)
    return fig


def curves_figure(ds: DatasetResult, pal: dict) -> Figure | None:
    return _lines(ds, "evaluations", ds.metrics, pal, log=False)


def gradients_figure(ds: DatasetResult, pal: dict) -> Figure | None:
    return _lines(ds, "history", GRADIENT_KEYS, pal, log=True)


def final_figure(ds: DatasetResult, pal: dict) -> Figure | None:
    import seaborn as sns

    if not ds.metrics:
        return None
    with sns.axes_style("whitegrid"):
        fig, axes = _grid(len(ds.metrics))
        for ax, m in zip(axes, ds.metrics):
            rows = [(v, r.metrics.get(m)) for v in ds.variants for r in ds.runs[v] if m in r.metrics]
            df = pd.DataFrame(rows, columns=["variant", "value"])
            df = df[np.isfinite(df["value"].to_numpy(np.float64))]
            for i, v in enumerate(ds.variants):  # a box per variant, every run as a point over it (no jitter)
                vals = df.loc[df["variant"] == v, "value"].to_numpy(np.float64)
                if len(vals):
                    box = ax.boxplot(vals, positions=[i], widths=0.6, showfliers=False, patch_artist=True,
                                     medianprops={"color": "black"})
                    for patch in box["boxes"]:
                        patch.set(facecolor=colors.to_rgba(pal[v], 0.35), edgecolor="0.3")
                xs = i + (np.linspace(-0.15, 0.15, len(vals)) if len(vals) > 1 else np.zeros(len(vals)))
                ax.scatter(xs, vals, s=18, color=pal[v], edgecolor="black", linewidth=0.5, zorder=3)
            ax.set_xticks(range(len(ds.variants)))
            ax.set_xticklabels([f"{v}\nn={ds.cells[(v, m)].n}/{ds.cells[(v, m)].n_total}" for v in ds.variants],
                               fontsize="small")
            ax.set_xlim(-0.6, len(ds.variants) - 0.4)
            ax.set_title(m)
            ax.set_xlabel("")
            ax.set_ylabel("")
    return fig


def _first_with(ds: DatasetResult, name: str) -> dict[str, tuple[Run, object]]:
    """Per variant, its first seed's `name` array (seeds without a readable file are passed over)."""
    out = {}
    for v in ds.variants:
        for r in ds.runs[v]:
            arr = r.load_array(name)
            if arr is not None:
                out[v] = (r, arr)
                break
    return out


def _valid_snapshots(z: dict) -> bool:
    need = {"steps", "samples", "real", "grid_x", "grid_y", "d_grid"}
    if not need <= set(z):
        return False
    s, r = len(z["steps"]), len(z["grid_x"])
    return (s > 0 and z["samples"].ndim == 3 and z["samples"].shape[0] == s and z["real"].ndim == 2
            and z["d_grid"].shape == (s, len(z["grid_y"]), r))


def snapshots_figure(ds: DatasetResult) -> Figure | None:
    found = {}
    for v, (r, z) in _first_with(ds, "snapshots.npz").items():
        if _valid_snapshots(z):
            found[v] = (r, z)
        else:
            warnings.warn(f"run {r.path}: snapshots.npz does not match docs/RUN_FORMAT.md; left out of the figure",
                          stacklevel=2)
    if not found:
        return None
    cols = max(min(SNAPSHOT_COLUMNS, len(z["steps"])) for _, z in found.values())
    fig = Figure(figsize=(2.3 * cols, 2.3 * len(found)), layout="constrained")
    for row, (v, (r, z)) in enumerate(found.items()):
        s = len(z["steps"])
        picks = np.unique(np.linspace(0, s - 1, min(cols, s)).round().astype(int))
        for col, k in enumerate(picks):
            ax = fig.add_subplot(len(found), cols, row * cols + col + 1)
            grid = np.ma.masked_invalid(np.asarray(z["d_grid"][k], np.float64))
            if grid.count() > 1:
                lo, hi = float(grid.min()), float(grid.max())
                if lo < 0 < hi:
                    norm = colors.TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi)
                else:
                    norm = colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1e-12)
                cs = ax.contourf(z["grid_x"], z["grid_y"], grid, levels=12, cmap=D_CMAP, norm=norm, alpha=0.6)
                cs.set_rasterized(True)
            ax.scatter(z["real"][:, 0], z["real"][:, 1], s=3, color=REAL_COLOUR, edgecolor="none", rasterized=True)
            gen = np.asarray(z["samples"][k], np.float64)
            gen = gen[np.isfinite(gen).all(axis=1)]
            ax.scatter(gen[:, 0], gen[:, 1], s=4, color=FAKE_COLOUR, edgecolor="none", rasterized=True)
            ax.set_xlim(float(z["grid_x"][0]), float(z["grid_x"][-1]))
            ax.set_ylim(float(z["grid_y"][0]), float(z["grid_y"][-1]))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            ax.set_title(f"step {int(z['steps'][k])}", fontsize="small")
            if col == 0:
                ax.set_ylabel(f"{v} (seed {r.seed})", fontsize="small")
    return fig


def image_grid(samples: np.ndarray, side: int = GRID_SIDE) -> np.ndarray | None:
    """The first side x side images of (N, C, H, W) samples in [-1, 1] as one (H', W'[, 3]) array
    in [0, 1]: 3 channels as RGB, anything else shown by its first channel in grey."""
    x = np.asarray(samples, np.float64)
    if x.ndim != 4 or len(x) == 0:
        return None
    x = np.nan_to_num(x[: side * side], nan=0.0, posinf=1.0, neginf=-1.0)
    x = (np.clip(x, -1, 1) + 1) / 2
    x = x if x.shape[1] == 3 else x[:, :1]
    n, c, h, w = x.shape
    rows = -(-n // side)
    canvas = np.ones((c, rows * (h + 1) + 1, side * (w + 1) + 1))
    for i in range(n):
        r, q = divmod(i, side)
        canvas[:, 1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + q * (w + 1): 1 + q * (w + 1) + w] = x[i]
    return canvas.transpose(1, 2, 0) if c == 3 else canvas[0]


def samples_figure(ds: DatasetResult) -> Figure | None:
    grids = {}
    for v, (r, arr) in _first_with(ds, "samples.npy").items():
        g = image_grid(arr) if isinstance(arr, np.ndarray) else None
        if g is not None:
            grids[v] = (r, g)
    if not grids:
        return None
    fig = Figure(figsize=(3.2 * len(grids), 3.5), layout="constrained")
    for i, (v, (r, g)) in enumerate(grids.items()):
        ax = fig.add_subplot(1, len(grids), i + 1)
        ax.imshow(g, cmap="gray" if g.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"{v} (seed {r.seed})", fontsize="small")
        ax.axis("off")
    return fig


def _is_2d(ds: DatasetResult) -> bool:
    return any(r.data_shape == (2,) or (r.path / "snapshots.npz").exists() for rs in ds.runs.values() for r in rs)


def make_figures(analysis: Analysis, out_dir: Path) -> dict[str, list[FigureFile]]:
    """Every figure for every data set, written under `out_dir`; data set -> its figures."""
    all_variants = sorted({r.variant for r in analysis.runs})
    pal = palette(all_variants)
    out: dict[str, list[FigureFile]] = {}
    for ds in analysis.datasets:
        name = safe_name(ds.name)
        made = [("curves", curves_figure(ds, pal), f"{ds.name}: metrics vs step (mean over seeds, band: min-max)"),
                ("gradients", gradients_figure(ds, pal), f"{ds.name}: gradient norms vs step (log scale)"),
                ("final", final_figure(ds, pal), f"{ds.name}: final metrics per run")]
        if _is_2d(ds):
            made.append(("snapshots", snapshots_figure(ds),
                         f"{ds.name}: generated (magenta) over real (black) samples at several steps; D's raw "
                         "output as filled contours (teal: high, brown: low)"))
        else:
            made.append(("samples", samples_figure(ds), f"{ds.name}: final samples (first seed)"))
        out[ds.name] = [_save(fig, out_dir, f"{kind}_{name}", caption)
                        for kind, fig, caption in made if fig is not None]
    return out
