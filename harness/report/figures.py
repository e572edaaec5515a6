"""Figures (seaborn on matplotlib's Agg canvas, PNG and PDF) from stored rows only.

Figures are drawn on :class:`matplotlib.figure.Figure` objects, never through pyplot, so making a
report changes no global matplotlib state (backend, rcParams) in the caller's process. PNG and PDF
metadata that would carry a date or a version string are stripped, and no random jitter is used,
so the same runs give the same bytes on the same software stack.

Per data set:

- ``curves_<data>``: each metric vs G steps, D steps or wall-clock time (``x_axis``), mean over
  seeds per row with the seeds' min-max band and each seed's own curve as a thin line
  (evaluations.jsonl);
- ``gradients_<data>``: grad_norm_g, grad_norm_d, input_grad_{real,fake,interp} vs the same axis,
  log scale (history.jsonl), mean and band;
- ``final_<data>``: final metric per run, points over boxes per row, the reference rows in grey
  after the trained ones; an infinite value is a triangle on the top edge, counted under its box;
- ``snapshots_<data>`` (2-D data): one row per variant (its first seed): generated samples over the
  real ones, with D's raw output as a filled contour, at up to five evaluation steps;
- ``samples_<data>`` (image data): an 8 x 8 grid of final samples per variant (first seed).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.figure import Figure

from .analysis import X_AXES, Analysis, DatasetResult
from .collect import Run, display_scale, warn_input

PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
GRADIENT_KEYS = ("grad_norm_g", "grad_norm_d", "input_grad_real", "input_grad_fake", "input_grad_interp")
SNAPSHOT_COLUMNS = 5
GRID_SIDE = 8
DPI = 100
BAND = ("pi", 100)  # seaborn errorbar: the band spans the seeds' min to max at each step
REAL_COLOUR, FAKE_COLOUR, D_CMAP = "black", "#e7298a", "BrBG"  # GAN-Lab-like: points stand out from D
REFERENCE_COLOUR = "0.55"  # reference rows (real, null-*) in grey


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


def x_values(df: pd.DataFrame, run: Run, x_axis: str) -> pd.Series | None:
    """The x coordinate of each row of a run's history or evaluations: its G step ("g_steps"), G step
    x the run's D steps per G step ("d_steps"), or its "wall_time_s" ("wall_time"); None when the
    run lacks what that needs."""
    if x_axis == "wall_time":
        return pd.to_numeric(df["wall_time_s"], errors="coerce") if "wall_time_s" in df.columns else None
    if "step" not in df.columns:
        return None
    step = pd.to_numeric(df["step"], errors="coerce")
    if x_axis == "d_steps":
        return step * run.n_dis if run.n_dis is not None else None
    return step


def tidy(runs: Sequence[tuple[str, Run]], source: str, keys: Sequence[str], x_axis: str = "g_steps",
         positive: bool = False) -> pd.DataFrame:
    """Long rows (x, key, value, row, seed) of `source` ("history" or "evaluations") of (row key, run)
    pairs, finite values only (positive ones with `positive`), x on `x_axis`."""
    frames = []
    for key, r in runs:
        df = getattr(r, source)
        if df is None or df.empty:
            continue
        cols = [k for k in keys if k in df.columns]
        x = x_values(df, r, x_axis)
        if not cols or x is None:
            continue
        long = df[cols].assign(x=x.to_numpy(np.float64)).melt(id_vars="x", var_name="key", value_name="value")
        long["value"] = pd.to_numeric(long["value"], errors="coerce")
        long["row"], long["seed"] = key, r.seed
        frames.append(long)
    if not frames:
        return pd.DataFrame(columns=["x", "key", "value", "row", "seed"])
    out = pd.concat(frames, ignore_index=True)
    keep = np.isfinite(out["value"].to_numpy(np.float64)) & np.isfinite(out["x"].to_numpy(np.float64))
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


def _lines(ds: DatasetResult, source: str, keys: Sequence[str], pal: dict, log: bool, x_axis: str,
           per_seed: bool) -> Figure | None:
    import seaborn as sns

    runs = [(k, r) for k in ds.rows for r in ds.groups[k].runs]
    data = tidy(runs, source, keys, x_axis, positive=log)
    keys = [k for k in keys if (data["key"] == k).any()]
    if not keys:
        return None
    with sns.axes_style("whitegrid"):
        fig, axes = _grid(len(keys))
        for i, (ax, key) in enumerate(zip(axes, keys)):
            part = data[data["key"] == key]
            if display_scale(key) != 1:  # per cent, as in the tables
                part = part.assign(value=part["value"] * display_scale(key))
            order = [k for k in ds.rows if (part["row"] == k).any()]
            if per_seed:  # every seed's own curve, thin, under the mean
                sns.lineplot(data=part, x="x", y="value", hue="row", hue_order=order, palette=pal, units="seed",
                             estimator=None, lw=0.6, alpha=0.45, ax=ax, legend=False)
            sns.lineplot(data=part, x="x", y="value", hue="row", hue_order=order, palette=pal,
                         estimator="mean", errorbar=BAND, ax=ax, legend=i == 0)
            ax.set_title(key + (" (%)" if display_scale(key) != 1 else ""))
            ax.set_xlabel(X_AXES[x_axis])
            ax.set_ylabel("")
            if log:
                _decade_axis(ax, part["value"].to_numpy(np.float64))
        if axes and axes[0].get_legend() is not None:
            sns.move_legend(axes[0], "best", fontsize="small", title=None)
    return fig


def curves_figure(ds: DatasetResult, pal: dict, x_axis: str = "g_steps") -> Figure | None:
    return _lines(ds, "evaluations", ds.metrics, pal, log=False, x_axis=x_axis, per_seed=True)


def gradients_figure(ds: DatasetResult, pal: dict, x_axis: str = "g_steps") -> Figure | None:
    return _lines(ds, "history", GRADIENT_KEYS, pal, log=True, x_axis=x_axis, per_seed=False)


def _tick(ds: DatasetResult, key: str, m: str, one_line: bool) -> str:
    s = ds.cells[(key, m)]
    counts = ", ".join([f"n={s.n}/{s.n_total}"] + [f"∞ {s.n_inf}"] * bool(s.n_inf)
                       + [f"NaN {s.n_nan}"] * bool(s.n_nan))
    return f"{key} ({counts})" if one_line else f"{key}\n{counts}"


def final_figure(ds: DatasetResult, pal: dict) -> Figure | None:
    import seaborn as sns

    if not ds.metrics:
        return None
    keys = ds.all_rows
    with sns.axes_style("whitegrid"):
        fig, axes = _grid(len(ds.metrics))
        for ax, m in zip(axes, ds.metrics):
            infinite = []
            for i, k in enumerate(keys):  # a box per row, every run as a point over it (no jitter)
                colour = pal.get(k, REFERENCE_COLOUR)
                allv = np.array([r.metrics[m] for r in ds.groups[k].runs if m in r.metrics], np.float64)
                allv = allv * display_scale(m)
                vals = allv[np.isfinite(allv)]
                if len(vals):
                    box = ax.boxplot(vals, positions=[i], widths=0.6, showfliers=False, patch_artist=True,
                                     medianprops={"color": "black"})
                    for patch in box["boxes"]:
                        patch.set(facecolor=colors.to_rgba(colour, 0.35), edgecolor="0.3")
                xs = i + (np.linspace(-0.15, 0.15, len(vals)) if len(vals) > 1 else np.zeros(len(vals)))
                ax.scatter(xs, vals, s=18, color=colour, edgecolor="black", linewidth=0.5, zorder=3)
                n_pos = int(np.sum(allv == np.inf))
                if n_pos:
                    infinite.append((i, n_pos, colour))
            if infinite:  # +inf: a triangle on the top edge per row that has one
                top = ax.get_ylim()[1]
                for i, _, colour in infinite:
                    ax.scatter([i], [top], marker="^", s=40, color=colour, edgecolor="black", linewidth=0.5,
                               zorder=4, clip_on=False)
            if ds.references and ds.rows:
                ax.axvline(len(ds.rows) - 0.5, color="0.4", lw=0.8)
            ax.set_xticks(range(len(keys)))
            long = len(keys) > 4 or max(len(k) for k in keys) > 10
            ax.set_xticklabels([_tick(ds, k, m, long) for k in keys], fontsize="small", rotation=30 if long else 0,
                               ha="right" if long else "center", rotation_mode="anchor")
            ax.set_xlim(-0.6, len(keys) - 0.4)
            ax.set_title(m + (" (%)" if display_scale(m) != 1 else ""))
            ax.set_xlabel("")
            ax.set_ylabel("")
    return fig


def _first_with(ds: DatasetResult, name: str) -> dict[str, tuple[Run, object]]:
    """Per trained row, its first seed's `name` array (seeds without a readable file are passed over)."""
    out = {}
    for v in ds.rows:
        for r in ds.groups[v].runs:
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
            warn_input(r.path, "snapshots.npz does not match docs/RUN_FORMAT.md; left out of the figure")
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
    return any(r.data_shape == (2,) or (r.path / "snapshots.npz").exists() for r in ds.trained_runs)


def make_figures(analysis: Analysis, out_dir: Path) -> dict[str, list[FigureFile]]:
    """Every figure for every data set, written under `out_dir`; data set -> its figures."""
    pal = palette(sorted({k for ds in analysis.datasets for k in ds.rows}))
    x = X_AXES[analysis.x_axis]
    out: dict[str, list[FigureFile]] = {}
    for ds in analysis.datasets:
        name = safe_name(ds.name)
        made = [("curves", curves_figure(ds, pal, analysis.x_axis),
                 f"{ds.name}: metrics vs {x} (mean over seeds, band: min-max, thin lines: each seed; infinite "
                 "values are not drawn)"),
                ("gradients", gradients_figure(ds, pal, analysis.x_axis),
                 f"{ds.name}: gradient norms vs {x} (log scale)"),
                ("final", final_figure(ds, pal),
                 f"{ds.name}: final metrics per run (references in grey, right of the line; ▲ on the top edge: "
                 "an infinite value)")]
        if _is_2d(ds):
            made.append(("snapshots", snapshots_figure(ds),
                         f"{ds.name}: generated (magenta) over real (black) samples at several steps; D's raw "
                         "output as filled contours (teal: high, brown: low)"))
        else:
            made.append(("samples", samples_figure(ds), f"{ds.name}: final samples (first seed)"))
        out[ds.name] = [_save(fig, out_dir, f"{kind}_{name}", caption)
                        for kind, fig, caption in made if fig is not None]
    return out
