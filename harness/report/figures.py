"""Figures for papers (matplotlib on its Agg canvas, PDF beside PNG) from stored rows only.

Figures are drawn on :class:`matplotlib.figure.Figure` objects, never through pyplot, with the
paper style (:data:`STYLE`, 8 pt text) applied only while drawing, so making a report leaves the
caller's matplotlib state as it was. PNG and PDF metadata that would carry a date or a version
string are stripped, and no random jitter is used: the same runs give the same bytes on the same
software stack. Sizes: :data:`TWO_COLUMNS` (6.75 in) or :data:`ONE_COLUMN` (3.25 in). What each
figure shows: docs/REPORTS.md, "Figures".
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib import colors
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..metrics import METRICS
from .analysis import X_AXES, Analysis, DatasetResult
from .collect import REAL, Run, display_scale, warn_input
from .names import log_metric, metric_label, metric_symbol, metric_unit, variant_name

PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
GRADIENT_KEYS = ("grad_norm_g", "grad_norm_d", "input_grad_real", "input_grad_fake", "input_grad_interp")
GRADIENT_LABELS = {"grad_norm_g": "G parameter gradient", "grad_norm_d": "D parameter gradient",
                   "input_grad_real": "‖∇x D‖ at real x", "input_grad_fake": "‖∇x D‖ at fake x",
                   "input_grad_interp": "‖∇x D‖ at interpolates"}
SNAPSHOT_COLUMNS = 5
GRID_SIDE = 8
DPI = 150  # PNG: ~1000 px across a two-column figure; the PDF beside it is vector
ONE_COLUMN, TWO_COLUMNS = 3.25, 6.75  # inches: a column and the text width of a two-column paper
FONT_PT = 8  # no text smaller than this at the figure's printed size
STYLE = {"font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT, "xtick.labelsize": FONT_PT,
         "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT, "figure.titlesize": FONT_PT,
         "legend.title_fontsize": FONT_PT, "lines.linewidth": 1.2, "axes.linewidth": 0.6, "grid.linewidth": 0.4,
         "pdf.fonttype": 42}
BAND_ALPHA = 0.15
REAL_COLOUR, FAKE_COLOUR, D_CMAP = "black", "#CC79A7", "BrBG"  # GAN-Lab-like: points stand out from D
OCCUPANCY_CMAP = "viridis"
REFERENCE_COLOUR = "0.55"  # reference rows (real, null-*) in grey
# Okabe & Ito (2008) colour-blind-safe colours, in an order whose neighbours differ most; with a line
# style and a marker each, so that no variant is told apart by colour alone
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)), (0, (3, 1, 3, 3)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


@dataclass
class FigureFile:
    stem: str
    caption: str
    paths: dict[str, Path]  # extension -> file
    png: bytes
    figure: Figure | None = None  # kept when make_figures(keep=True) (tests)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"


#: The reference variants' fixed style slots: a variant keeps its colour, line style and marker in
#: every report, whichever other variants share it. Other variants (plugins) take, in the order of
#: their names, the slots of no reference variant, then those of reference variants not in the figure.
FIXED_SLOTS = {"vanilla": 0, "wgan": 1, "wgan-gp": 2, "sngan": 3, "lsgan": 4, "gan-r1": 5, "dragan": 6, "unrolled": 7}


def _slot_style(slot: int, point_index: int = 0) -> dict:
    """Slot `slot`'s colour; a variant's grid points (point_index 1, 2, ...) keep its colour and take
    the next line styles and markers."""
    n = len(OKABE_ITO)
    return {"color": OKABE_ITO[slot % n], "linestyle": LINESTYLES[(slot + point_index) % len(LINESTYLES)],
            "marker": MARKERS[(slot + point_index) % len(MARKERS)]}


def styles(variants: Sequence[str]) -> dict[str, dict]:
    """Per row key (``variant`` or ``variant @ point``) its colour, line style and marker. A variant's
    style is fixed by its name (:data:`FIXED_SLOTS`), so it is the same in every report; any two of up
    to eight variants differ in all three. The points of one variant share its colour."""
    heads = sorted({key.partition(" @ ")[0] for key in variants})
    present = {FIXED_SLOTS[h] for h in heads if h in FIXED_SLOTS}
    # other variants (plugins): first the slots no reference variant owns, then those of reference
    # variants absent from this figure, so that they never share a colour with a variant shown beside them
    free = [s for s in range(len(OKABE_ITO)) if s not in FIXED_SLOTS.values()] + \
        [s for s in sorted(FIXED_SLOTS.values()) if s not in present]
    others = [h for h in heads if h not in FIXED_SLOTS]
    slot = {**{h: FIXED_SLOTS[h] for h in heads if h in FIXED_SLOTS},
            **{h: free[i] if i < len(free) else len(FIXED_SLOTS) + i for i, h in enumerate(others)}}
    out: dict[str, dict] = {}
    for head in heads:
        keys = [k for k in variants if k.partition(" @ ")[0] == head]
        for i, key in enumerate(sorted(keys)):
            out[key] = _slot_style(slot[head], i)
    return out


def _quantized_png(path: Path) -> bytes:
    """Re-save a PNG with a 256-colour adaptive palette (deterministic; a fraction of the size)."""
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE)
        buf = io.BytesIO()
        small.save(buf, format="PNG", optimize=True)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


SNAPSHOT_DPI = 120  # the point clouds and contours make these PNGs the largest: a little coarser


def _save(fig: Figure, out_dir: Path, stem: str, caption: str, keep: bool = False) -> FigureFile:
    out_dir.mkdir(parents=True, exist_ok=True)
    png, pdf = out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"
    fig.savefig(png, format="png", dpi=SNAPSHOT_DPI if stem.startswith("snapshots_") else DPI, metadata=PNG_METADATA)
    fig.set_layout_engine("none")  # keep the positions the first save laid out; do not lay out twice
    fig.savefig(pdf, format="pdf", dpi=DPI, metadata=PDF_METADATA)
    return FigureFile(stem, caption, {"png": png, "pdf": pdf}, _quantized_png(png), fig if keep else None)


def _panels(fig: Figure, n: int, max_cols: int = 3) -> list:
    """n axes in rows of up to max_cols; a short last row is centred, so no grid cell is left empty."""
    cols = min(max_cols, max(n, 1))
    rows = -(-max(n, 1) // cols)
    gs = fig.add_gridspec(rows, 2 * cols)
    axes = []
    for i in range(n):
        r, c = divmod(i, cols)
        in_row = cols if r < rows - 1 else n - cols * (rows - 1)
        off = cols - in_row  # half-cells to shift a short row right
        axes.append(fig.add_subplot(gs[r, off + 2 * c: off + 2 * c + 2]))
    return axes


LEGEND_ROW_IN = 0.25  # the height one legend row adds to a figure
LEGEND_CHAR_IN = 0.075  # inches per character of an 8 pt legend label (generous: capitals, "@")
LEGEND_HANDLE_IN = 0.55  # the line sample, its marker and the gaps around one entry


def _figure(width: float, n: int, panel_height: float = 1.75, max_cols: int = 3, legend_rows: int = 1):
    cols = min(max_cols, max(n, 1))
    rows = -(-max(n, 1) // cols)
    fig = Figure(figsize=(width, panel_height * rows + LEGEND_ROW_IN * legend_rows), layout="constrained")
    return fig, _panels(fig, n, max_cols)


def legend_columns(width_in: float, labels: Sequence[str]) -> int:
    """Legend entries per row: as many of the longest label as fit across `width_in` (at most 4), so
    a legend of long labels (a sweep's grid points) takes more rows instead of running off the page."""
    if not labels:
        return 1
    entry = LEGEND_HANDLE_IN + LEGEND_CHAR_IN * max(len(lab) for lab in labels)
    return max(1, min(len(labels), 4, int((width_in - 0.1) // entry)))


def legend_rows(width_in: float, labels: Sequence[str]) -> int:
    return -(-len(labels) // legend_columns(width_in, labels)) if labels else 0


def _legend(fig: Figure, handles: list, labels: list[str]) -> None:
    if handles:
        fig.legend(handles, labels, loc="outside upper center", ncols=legend_columns(fig.get_figwidth(), labels),
                   frameon=False)


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
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return
    lo, hi = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
    ax.set_ylim(10.0 ** lo, 10.0 ** max(hi, lo + 1))
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _ylabel(key: str) -> str:
    if metric_unit(key):
        return metric_unit(key)
    return metric_symbol(key) if key in METRICS else "L2 norm"


def _draw_lines(ax, part: pd.DataFrame, order: list[str], st: dict, per_seed: bool) -> None:
    """Per row: each seed's curve thin, the mean over seeds on top with its min-max band and markers."""
    for k in order:
        mine = part[part["row"] == k]
        style = st[k]
        if per_seed:
            for _, seed in mine.groupby("seed", sort=True):
                seed = seed.sort_values("x")
                ax.plot(seed["x"], seed["value"], color=style["color"], lw=0.5, alpha=0.45, ls="-")
        g = mine.groupby("x", sort=True)["value"]
        mean, lo, hi = g.mean(), g.min(), g.max()
        ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=style["color"], alpha=BAND_ALPHA, lw=0)
        every = max(1, len(mean) // 6)
        ax.plot(mean.index, mean.to_numpy(), color=style["color"], ls=style["linestyle"], marker=style["marker"],
                markevery=every, ms=3.5, lw=1.2, label=variant_name(k))


REAL_LABEL, NULL_LABEL = "real sample (reference)", "best null row (reference)"


def reference_levels(ds: DatasetResult, metric: str) -> list[tuple[str, float, str]]:
    """(legend label, mean value, line style) of the real-sample row and of the metric's best null
    row: the levels a metric curve is read against (docs/REPORTS.md, "Figures")."""
    out = []
    real = next((k for k in ds.references if ds.groups[k].variant == REAL), None)
    for label, key, ls in ((REAL_LABEL, real, "-"), (NULL_LABEL, ds.null_row.get(metric), "--")):
        cell = ds.cells.get((key, metric)) if key else None
        if cell is not None and np.isfinite(cell.mean):
            out.append((label, float(cell.mean), ls))
    return out


def _draw_references(ax, levels: list[tuple[str, float, str]], scale: float, log: bool) -> list[float]:
    drawn = []
    for label, value, ls in levels:
        value *= scale
        if log and value <= 0:
            continue
        ax.axhline(value, color=REFERENCE_COLOUR, ls=ls, lw=0.9, zorder=1, label=label)
        drawn.append(value)
    return drawn


def _lines(ds: DatasetResult, source: str, keys: Sequence[str], st: dict, x_axis: str, per_seed: bool,
           width: float = TWO_COLUMNS, log_all: bool = False) -> Figure | None:
    runs = [(k, r) for k in ds.rows for r in ds.groups[k].runs]
    data = tidy(runs, source, keys, x_axis)
    keys = [k for k in keys if (data["key"] == k).any()]
    if not keys:
        return None
    cols = 1 if width == ONE_COLUMN else 3
    labels = [variant_name(k) for k in ds.rows] + ([REAL_LABEL, NULL_LABEL] if source == "evaluations" else [])
    fig, axes = _figure(width, len(keys), panel_height=1.9 if width == ONE_COLUMN else 1.75, max_cols=cols,
                        legend_rows=legend_rows(width, labels))
    for ax, key in zip(axes, keys):
        part = data[data["key"] == key]
        log = log_all or log_metric(key)
        if log:
            part = part[part["value"] > 0]
        if display_scale(key) != 1:  # per cent, as in the tables
            part = part.assign(value=part["value"] * display_scale(key))
        order = [k for k in ds.rows if (part["row"] == k).any()]
        _draw_lines(ax, part, order, st, per_seed)
        levels = reference_levels(ds, key) if source == "evaluations" else []
        drawn = _draw_references(ax, levels, display_scale(key), log)
        ax.set_title(GRADIENT_LABELS.get(key, metric_label(key)))
        ax.set_xlabel(X_AXES[x_axis])
        ax.set_ylabel(_ylabel(key))
        ax.grid(True, alpha=0.4)
        if log:
            _decade_axis(ax, np.concatenate([part["value"].to_numpy(np.float64), drawn]))
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    _legend(fig, handles, labels)
    return fig


def curves_figure(ds: DatasetResult, pal: dict, x_axis: str = "g_steps") -> Figure | None:
    return _lines(ds, "evaluations", ds.metrics, pal, x_axis, per_seed=True)


def main_figure(ds: DatasetResult, pal: dict, x_axis: str = "g_steps") -> Figure | None:
    """The main metric alone, one column wide."""
    if not ds.main_metric or ds.main_metric not in ds.metrics:
        return None
    return _lines(ds, "evaluations", [ds.main_metric], pal, x_axis, per_seed=True, width=ONE_COLUMN)


def gradients_figure(ds: DatasetResult, pal: dict, x_axis: str = "g_steps") -> Figure | None:
    return _lines(ds, "history", GRADIENT_KEYS, pal, x_axis, per_seed=True, log_all=True)


SLANTED_TICK_CHARS = 14  # tick labels longer than this stand upright
TICK_CHAR_IN = 0.06  # inches per character of an 8 pt tick label
TICK_PITCH_IN = 0.17  # the room an upright 8 pt tick label needs across


def final_figure(ds: DatasetResult, pal: dict) -> Figure | None:
    """Final value of every run (a marker per seed) and the row's mean (a bar), per metric; the
    reference rows in grey right of a line; +inf as a triangle on the top edge."""
    if not ds.metrics:
        return None
    keys = ds.all_rows
    names = [variant_name(k) for k in keys]
    # long names (a sweep's grid points) stand upright, and each panel grows to hold them: at 45
    # degrees they ran into each other
    upright = max(len(n) for n in names) > SLANTED_TICK_CHARS
    grow = TICK_CHAR_IN * max(len(n) for n in names) - 0.6 if upright else 0.0
    # and the panels get wide enough that upright names do not touch (fewer per row)
    cols = max(1, min(3, int(TWO_COLUMNS // (TICK_PITCH_IN * len(keys) + 0.6)))) if upright else 3
    fig, axes = _figure(TWO_COLUMNS, len(ds.metrics), panel_height=2.0 + max(grow, 0.0), max_cols=cols)
    for ax, m in zip(axes, ds.metrics):
        infinite = []
        for i, k in enumerate(keys):
            style = pal.get(k, {"color": REFERENCE_COLOUR, "marker": "o"})
            allv = np.array([r.metrics[m] for r in ds.groups[k].runs if m in r.metrics], np.float64)
            allv = allv * display_scale(m)
            vals = allv[np.isfinite(allv)]
            if log_metric(m):
                vals = vals[vals > 0]
            xs = i + (np.linspace(-0.18, 0.18, len(vals)) if len(vals) > 1 else np.zeros(len(vals)))
            ax.scatter(xs, vals, s=14, color=style["color"], marker=style["marker"], edgecolor="black",
                       linewidth=0.4, zorder=3)
            if len(vals):
                ax.plot([i - 0.3, i + 0.3], [vals.mean()] * 2, color="black", lw=1.0, zorder=4)
            if np.sum(allv == np.inf):
                infinite.append((i, style["color"]))
        if log_metric(m):
            vals = np.concatenate([np.asarray([r.metrics[m] * display_scale(m) for r in ds.groups[k].runs
                                               if m in r.metrics], np.float64) for k in keys])
            _decade_axis(ax, vals)
        if infinite:
            top = ax.get_ylim()[1]
            for i, colour in infinite:
                ax.scatter([i], [top], marker="^", s=30, color=colour, edgecolor="black", linewidth=0.4,
                           zorder=5, clip_on=False)
        if ds.references and ds.rows:
            ax.axvline(len(ds.rows) - 0.5, color="0.4", lw=0.6)
        ax.set_xticks(range(len(keys)))
        if upright:
            ax.set_xticklabels(names, rotation=90, ha="center")
        else:
            ax.set_xticklabels(names, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.6, len(keys) - 0.4)
        ax.set_title(metric_label(m))
        ax.set_ylabel(_ylabel(m))
        ax.grid(True, axis="y", alpha=0.4)
    return fig


def _pick_seed(ds: DatasetResult, name: str, seed: int | None, ok=lambda arr: True) -> dict[str, tuple[Run, object]]:
    """Per trained row, the `name` array of the run with `seed` (default: its first seed with a usable one)."""
    out = {}
    for v in ds.rows:
        for r in ds.groups[v].runs:
            if seed is not None and r.seed != seed:
                continue
            arr = r.load_array(name)
            if arr is not None and ok(arr):
                out[v] = (r, arr)
                break
            if arr is not None:
                warn_input(r.path, f"{name} does not match docs/RUN_FORMAT.md; left out of the figure")
    return out


def _valid_snapshots(z: dict) -> bool:
    need = {"steps", "samples", "real", "grid_x", "grid_y", "d_grid"}
    if not need <= set(z):
        return False
    s, r = len(z["steps"]), len(z["grid_x"])
    return (s > 0 and z["samples"].ndim == 3 and z["samples"].shape[0] == s and z["real"].ndim == 2
            and z["d_grid"].shape == (s, len(z["grid_y"]), r))


def d_gradient(grid_x: np.ndarray, grid_y: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dD/dx, dD/dy) of D's output on the grid (rows: y, columns: x) by central finite differences
    (one-sided at the edges). Every G loss of the harness lowers as D(G(z)) rises, so +grad D is
    the direction in which G's update moves a fake sample: the field GAN Lab draws."""
    d = np.asarray(d, np.float64)
    dy, dx = np.gradient(d, np.asarray(grid_y, np.float64), np.asarray(grid_x, np.float64))
    return dx, dy


QUIVER_SIDE = 11  # arrows per side of a snapshot panel


def snapshot_norm(grids: Sequence[np.ndarray]) -> colors.Normalize:
    """One row's colour scale: the 2nd-98th percentile of its D outputs, linear; centred on 0 (D's
    indifference point for a logit) when the range spans it. Each row has its own: the losses' D
    outputs differ in scale and offset (logits, an unbounded critic, a clipped critic's narrow
    band), and a scale shared across them flattens all but one row."""
    values = np.concatenate([np.asarray(g, np.float64).ravel() for g in grids])
    values = values[np.isfinite(values)]
    lo, hi = (float(v) for v in np.percentile(values, [2, 98])) if len(values) else (-1.0, 1.0)
    if not hi > lo:
        lo, hi = lo - max(abs(lo), 1.0) * 1e-6, hi + max(abs(hi), 1.0) * 1e-6
    if lo < 0 < hi:
        return colors.TwoSlopeNorm(0.0, lo, hi)
    return colors.Normalize(lo, hi)


def snapshots_figure(ds: DatasetResult, seed: int | None = None) -> Figure | None:
    """Rows: variants (one seed each, `seed` or the first); columns: up to five evaluation steps.
    D's raw output as filled contours on the row's own colour scale (:func:`snapshot_norm`) with one
    colour bar per row, the direction of its gradient (where G moves fakes) as arrows, generated over
    real samples; fixed axes."""
    found = _pick_seed(ds, "snapshots.npz", seed, _valid_snapshots)
    if not found:
        return None
    cols = max(min(SNAPSHOT_COLUMNS, len(z["steps"])) for _, z in found.values())
    x0 = min(float(z["grid_x"][0]) for _, z in found.values())
    x1 = max(float(z["grid_x"][-1]) for _, z in found.values())
    y0 = min(float(z["grid_y"][0]) for _, z in found.values())
    y1 = max(float(z["grid_y"][-1]) for _, z in found.values())
    side = (TWO_COLUMNS - 1.3) / cols
    fig = Figure(figsize=(TWO_COLUMNS, side * len(found) + 0.3), layout="constrained")
    gs = fig.add_gridspec(len(found), cols)
    for row, (v, (r, z)) in enumerate(found.items()):
        s = len(z["steps"])
        picks = np.unique(np.linspace(0, s - 1, min(cols, s)).round().astype(int))
        norm = snapshot_norm([z["d_grid"][k] for k in picks])
        levels = np.linspace(norm.vmin, norm.vmax, 15)
        mappable, panels = None, []
        for col, k in enumerate(picks):
            ax = fig.add_subplot(gs[row, col])
            panels.append(ax)
            grid = np.asarray(z["d_grid"][k], np.float64)
            if np.isfinite(grid).sum() > 1:
                cs = ax.contourf(z["grid_x"], z["grid_y"], np.clip(np.ma.masked_invalid(grid), norm.vmin, norm.vmax),
                                 levels=levels, cmap=D_CMAP, norm=norm, alpha=0.75, extend="neither")
                cs.set_rasterized(True)
                mappable = cs
                u, w = d_gradient(z["grid_x"], z["grid_y"], np.nan_to_num(grid))
                step = max(1, len(z["grid_x"]) // QUIVER_SIDE)
                mag = np.hypot(u, w)
                with np.errstate(invalid="ignore", divide="ignore"):
                    un, wn = np.where(mag > 0, u / mag, 0.0), np.where(mag > 0, w / mag, 0.0)
                gx, gy = np.meshgrid(z["grid_x"], z["grid_y"])
                ax.quiver(gx[::step, ::step], gy[::step, ::step], un[::step, ::step], wn[::step, ::step],
                          color="0.25", angles="xy", scale=QUIVER_SIDE * 1.6, width=0.006, headwidth=3.5,
                          headlength=4, zorder=2)
            ax.scatter(z["real"][:, 0], z["real"][:, 1], s=1.5, color=REAL_COLOUR, edgecolor="none", rasterized=True,
                       zorder=3)
            gen = np.asarray(z["samples"][k], np.float64)
            gen = gen[np.isfinite(gen).all(axis=1)]
            ax.scatter(gen[:, 0], gen[:, 1], s=2, color=FAKE_COLOUR, edgecolor="none", rasterized=True, zorder=4)
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            ax.set_title(f"step {int(z['steps'][k])}")
            if col == 0:
                ax.set_ylabel(f"{variant_name(v)}\nseed {r.seed}")
        if mappable is not None:
            cb = fig.colorbar(mappable, ax=panels, shrink=0.9, pad=0.02, aspect=15, ticks=MaxNLocator(4),
                              format="%.3g")
            cb.set_label("D output")
    return fig


OCCUPANCY_FLOOR = 0.1  # x a perfect sampler's share: the colour scale's lower end (and "empty")


def occupancy_figure(ds: DatasetResult, pal: dict | None = None, seed: int | None = None) -> Figure | None:
    """Per variant (one seed: `seed` or the first with mode counts), each mode's share of the
    evaluation's high-quality samples over training (evaluations.jsonl "mode_counts") relative to a
    perfect sampler's share 1/M, on a log colour scale from OCCUPANCY_FLOOR (and empty modes) to M
    (one mode holds them all): 1 is a fair share on 8 modes as on 25. One shared colour bar: modes
    that are found, lost and found again."""
    found = {}
    for v in ds.rows:
        for r in ds.groups[v].runs:
            if seed is not None and r.seed != seed:
                continue
            ev = r.evaluations
            if ev is None or ev.empty or "mode_counts" not in ev.columns or "step" not in ev.columns:
                continue
            rows = [(s, c) for s, c in zip(ev["step"], ev["mode_counts"]) if isinstance(c, list) and c]
            if rows and len({len(c) for _, c in rows}) == 1 and len(rows[0][1]) <= 200:
                counts = np.asarray([c for _, c in rows], np.float64).T  # modes x evaluations
                total = counts.sum(axis=0, keepdims=True)
                with np.errstate(invalid="ignore", divide="ignore"):
                    share = np.where(total > 0, counts / np.where(total > 0, total, 1), 0.0)
                found[v] = (r, np.asarray([s for s, _ in rows], np.float64), share * counts.shape[0])
                break
    if not found:
        return None
    top = max(float(rel.shape[0]) for _, _, rel in found.values())
    norm = colors.LogNorm(OCCUPANCY_FLOOR, max(top, 1.0 / OCCUPANCY_FLOOR))
    fig, axes = _figure(TWO_COLUMNS, len(found), panel_height=1.6, max_cols=min(len(found), 4), legend_rows=0)
    im = None
    for ax, (v, (r, steps, rel)) in zip(axes, found.items()):
        half = (steps[1] - steps[0]) / 2 if len(steps) > 1 else 0.5
        im = ax.imshow(np.maximum(rel, OCCUPANCY_FLOOR), aspect="auto", origin="lower", cmap=OCCUPANCY_CMAP,
                       norm=norm, interpolation="nearest",
                       extent=(steps[0] - half, steps[-1] + half, -0.5, rel.shape[0] - 0.5))
        ax.set_title(f"{variant_name(v)} (seed {r.seed})")
        ax.set_xlabel(X_AXES["g_steps"])
        ax.set_ylabel("mode")
    cb = fig.colorbar(im, ax=axes, shrink=0.8, pad=0.02, extend="min")
    cb.set_label("HQ share × modes")
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


SAMPLE_SEEDS, SAMPLE_SIDE = 3, 6  # image sample figure: up to 3 seeds (rows), 6 x 6 images per panel


def real_images(dataset: str, n: int, seed: int) -> np.ndarray | None:
    """n real images of `dataset` drawn afresh (seeded; no training stream is touched), or None when
    the data set cannot be built here (a user's data set whose files are elsewhere)."""
    import torch

    from ..data import get_dataset
    from ..errors import HarnessError

    try:
        data = get_dataset(dataset)
        return data.sample(n, torch.Generator().manual_seed(10_000 + seed)).numpy()
    except (HarnessError, OSError):
        return None


def samples_figure(ds: DatasetResult, seed: int | None = None) -> Figure | None:
    """Image data: a column of real images (drawn afresh, a panel per row) beside one column per
    trained row, one row per seed (`seed`, or the first SAMPLE_SEEDS seeds): a reader compares
    samples with the data and sees whether one seed is typical."""
    seeds = [seed] if seed is not None else ds.seeds[:SAMPLE_SEEDS]
    columns: dict[str, dict[int, np.ndarray]] = {}
    for k in ds.rows:
        for s in seeds:
            got = _pick_seed(ds, "samples.npy", s).get(k)
            g = image_grid(got[1], SAMPLE_SIDE) if got is not None and isinstance(got[1], np.ndarray) else None
            if g is not None:
                columns.setdefault(k, {})[s] = g
    if not columns:
        return None
    real = {s: image_grid(x, SAMPLE_SIDE) for s in seeds
            if (x := real_images(ds.name, SAMPLE_SIDE ** 2, s)) is not None}
    heads = ([("real data", real)] if real else []) + [(variant_name(k), g) for k, g in columns.items()]
    cols = len(heads)
    side = (TWO_COLUMNS - 0.4) / max(cols, 3)
    fig = Figure(figsize=(TWO_COLUMNS, side * len(seeds) + 0.35), layout="constrained")
    gs = fig.add_gridspec(len(seeds), cols)
    for j, (title, grids) in enumerate(heads):
        for i, s in enumerate(seeds):
            ax = fig.add_subplot(gs[i, j])
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if s in grids:
                g = grids[s]
                ax.imshow(g, cmap="gray" if g.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            if i == 0:
                ax.set_title(title)
            if j == 0:
                ax.set_ylabel(f"seed {s}")
    return fig


def _is_2d(ds: DatasetResult) -> bool:
    return any(r.data_shape == (2,) or (r.path / "snapshots.npz").exists() for r in ds.trained_runs)


def make_figures(analysis: Analysis, out_dir: Path, *, keep: bool = False,
                 snapshot_seed: int | None = None) -> dict[str, list[FigureFile]]:
    """Every figure for every data set, written under `out_dir`; data set -> its figures.
    `snapshot_seed`: the seed the snapshot, occupancy and sample figures show (default: each row's
    first seed that has the file). `keep`: keep the Figure objects on the results (tests)."""
    import matplotlib

    st = styles(sorted({k for ds in analysis.datasets for k in ds.rows}))
    x = X_AXES[analysis.x_axis]
    which = "seed " + str(snapshot_seed) if snapshot_seed is not None else "first seed"
    out: dict[str, list[FigureFile]] = {}
    with matplotlib.rc_context(STYLE):
        for ds in analysis.datasets:
            name = safe_name(ds.name)
            made = [("main", main_figure(ds, st, analysis.x_axis),
                     f"{ds.name}: {metric_label(ds.main_metric or '')} vs {x} (one column; mean over seeds, band: "
                     "min-max, thin lines: each seed; grey: the real sample (solid) and the best null row (dashed))"),
                    ("curves", curves_figure(ds, st, analysis.x_axis),
                     f"{ds.name}: metrics vs {x} (mean over seeds with markers, band: min-max, thin lines: each seed; "
                     "distances on log axes; infinite values are not drawn; grey: the real sample (solid) and the best null "
                     "row (dashed), the levels to read each curve against)"),
                    ("gradients", gradients_figure(ds, st, analysis.x_axis),
                     f"{ds.name}: gradient norms vs {x} (log axes; mean, min-max band, each seed thin)"),
                    ("final", final_figure(ds, st),
                     f"{ds.name}: final value of every run (markers) and the row's mean (bar); references in grey, "
                     "right of the line; ▲ on the top edge: an infinite value")]
            if _is_2d(ds):
                made.append(("snapshots", snapshots_figure(ds, snapshot_seed),
                             f"{ds.name}: generated (pink) over real (black) samples at five evaluation steps "
                             f"({which}); D's raw output as filled contours, each row on its own colour scale (its "
                             "2nd-98th percentile: the losses' outputs differ in scale); arrows: direction of +∇D, from finite differences of "
                             "the stored D grid: where G's update moves fake samples (length normalised)"))
                made.append(("occupancy", occupancy_figure(ds, st, snapshot_seed),
                             f"{ds.name}: each mode's share of the high-quality samples at every evaluation, times the "
                             f"number of modes (1: a perfect sampler's share; log colour scale; {which}; "
                             "evaluations.jsonl mode_counts)"))
            else:
                made.append(("samples", samples_figure(ds, snapshot_seed),
                             f"{ds.name}: final samples of each variant, one row per seed, beside real images "
                             "drawn afresh from the data set (left column, where the data set can be built)"))
            out[ds.name] = [_save(fig, out_dir, f"{kind}_{name}", caption, keep)
                            for kind, fig, caption in made if fig is not None]
    return out
