"""What each variant was and where it ran, from the runs' own files (spec.json config, manifest.json
dataset and environment, summary.json wall time): the part of a report that lets a reader redo it.

A field that differs between the runs of one row shows every value it took ("a / b"), so a table
never claims one setting for runs that had several.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Sequence

from . import fmt
from .analysis import Analysis, DatasetResult
from .collect import Run
from .names import variant_name

#: (label, config field) in the order the configuration table lists them; special fields below
CONFIG_ROWS = ["loss", "penalty", "constraint", "optimiser", "learning rate G / D", "Adam betas",
               "learning-rate schedule", "D steps per G step", "update", "architecture", "G / D hidden x layers",
               "parameters G / D", "latent size", "batch size", "G steps (budget)", "G / D steps trained", "seeds", "wall time per run (s)",
               "setting"]


def _values(runs: Sequence[Run], get) -> str:
    vals = []
    for r in runs:
        try:
            v = get(r)
        except (KeyError, TypeError, ValueError):
            v = None
        vals.append(fmt.NA if v is None else str(v))
    distinct = list(dict.fromkeys(vals))
    return " / ".join(distinct) if len(distinct) > 1 else distinct[0] if distinct else fmt.NA


def _g(r: Run, key: str) -> Any:
    return r.config[key]


def _penalty(r: Run) -> str:
    p = r.config.get("penalty")
    if p in (None, "none"):
        return "none"
    return f"{p}, weight λ = {r.config.get('penalty_weight')}"


def _constraint(r: Run) -> str:
    c = r.config.get("constraint")
    if c == "clip":
        return f"weight clipping to ±{r.config.get('clip_value')}"
    return "spectral norm (every D layer)" if c == "spectral_norm" else str(c)


def _betas(r: Run) -> str | None:
    if r.config.get("optimizer") != "adam":
        return "– (not Adam)"
    return f"({r.config['beta1']}, {r.config['beta2']})"


def _arch(r: Run) -> str:
    from ..nets.base import resolve_arch
    from ..spec import make_config

    return resolve_arch(make_config(r.config), r.data_shape or (2,))


_PARAMS: dict[str, str] = {}


def parameter_counts(r: Run) -> str:
    """"G / D" trainable parameters of the networks the run's config builds (built, not trained: the
    count needs no checkpoint); "n/a" when the config does not build (e.g. an unknown architecture)."""
    key = json.dumps([r.config, r.data_shape], sort_keys=True, default=str)
    if key not in _PARAMS:
        try:
            from ..nets.base import build_networks
            from ..spec import make_config

            if r.data_shape is None:
                raise ValueError("no data shape in manifest.json")
            G, D = build_networks(make_config(r.config), r.data_shape)
            count = [sum(p.numel() for p in net.parameters() if p.requires_grad) for net in (G, D)]
            _PARAMS[key] = f"{count[0]:,} / {count[1]:,}"
        except Exception:  # noqa: BLE001 - any failure to build is "n/a", never a failed report
            _PARAMS[key] = fmt.NA
    return _PARAMS[key]


def _wall(runs: Sequence[Run]) -> str:
    walls = [r.wall_time_s for r in runs if r.wall_time_s is not None]
    if not walls:
        return fmt.NA
    return f"{fmt.num(sum(walls) / len(walls))} (mean; {fmt.num(min(walls))}–{fmt.num(max(walls))})"


def config_rows(runs: Sequence[Run]) -> list[str]:
    """The values of :data:`CONFIG_ROWS` for the runs of one row."""
    return [
        _values(runs, lambda r: _g(r, "loss")),
        _values(runs, _penalty),
        _values(runs, _constraint),
        _values(runs, lambda r: _g(r, "optimizer")),
        _values(runs, lambda r: f"{_g(r, 'lr_g'):g} / {_g(r, 'lr_d'):g}"),
        _values(runs, _betas),
        _values(runs, lambda r: _g(r, "lr_schedule")),
        _values(runs, lambda r: r.n_dis),
        _values(runs, lambda r: _g(r, "update")),
        _values(runs, _arch),
        _values(runs, lambda r: f"{_g(r, 'g_hidden')}×{_g(r, 'g_layers')} / {_g(r, 'd_hidden')}×{_g(r, 'd_layers')}"),
        _values(runs, parameter_counts),
        _values(runs, lambda r: _g(r, "z_dim")),
        _values(runs, lambda r: _g(r, "batch_size")),
        _values(runs, lambda r: r.steps),
        f"{fmt.span([r.g_steps for r in runs])} / {fmt.span([r.d_steps for r in runs])}",
        ", ".join(str(r.seed) for r in runs),
        _wall(runs),
        _values(runs, lambda r: r.setting or None),
    ]


def config_table(analysis: Analysis) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the report's one configuration table: a column per variant, a row per
    field; a value that differs between data sets (a tuned setting's) is given per data set."""
    variants = list(dict.fromkeys(k for ds in analysis.datasets for k in ds.rows))
    per = {k: {ds.name: config_rows(ds.groups[k].runs) for ds in analysis.datasets if k in ds.groups
               and k in ds.rows} for k in variants}
    rows = []
    for i, label in enumerate(CONFIG_ROWS):
        row = [label]
        for k in variants:
            values = {name: cols[i] for name, cols in per[k].items()}
            row.append(next(iter(values.values())) if len(set(values.values())) == 1
                       else "; ".join(f"{name}: {v}" for name, v in values.items()))
        rows.append(row)
    return ["field"] + [variant_name(k) for k in variants], rows


def dataset_text(ds: DatasetResult) -> str:
    """The data set's source and geometry from manifest.json: modes, their spread, the centres'
    layout (a circle of radius r, or the extent of a grid), images' size and split."""
    runs = [r for k in ds.all_rows for r in ds.groups[k].runs]
    data = next(((r.manifest or {}).get("dataset") for r in runs if (r.manifest or {}).get("dataset")), None) or {}
    if not data:
        return f"{ds.name}: no dataset description in manifest.json."
    parts = [f"source: {data['source']}"] if data.get("source") else []
    if data.get("shape"):
        parts.append("shape " + "×".join(str(s) for s in data["shape"]))
    if data.get("n_modes"):
        parts.append(f"{data['n_modes']} modes")
    centres = data.get("centres")
    if isinstance(centres, list) and centres and all(isinstance(c, list) and len(c) == 2 for c in centres):
        radii = [math.hypot(*c) for c in centres]
        xs, ys = sorted({round(c[0], 6) for c in centres}), sorted({round(c[1], 6) for c in centres})
        if max(radii) - min(radii) < 1e-6:
            parts.append(f"centres evenly on a circle of radius {fmt.num(radii[0])}")
        elif len(xs) * len(ys) == len(centres):
            parts.append(f"centres on a {len(xs)}×{len(ys)} grid over [{fmt.num(xs[0])}, {fmt.num(xs[-1])}]"
                         f" × [{fmt.num(ys[0])}, {fmt.num(ys[-1])}]")
    if data.get("sigma") is not None:
        parts.append(f"each mode an isotropic Gaussian with σ = {data['sigma']}")
    for key in ("n_images", "split", "stacked_channels", "resize", "data_sha256"):
        if data.get(key) not in (None, ""):
            parts.append(f"{key.replace('_', ' ')}: {data[key]}")
    return f"{ds.name}: " + "; ".join(parts) + "."


def _counted(values: list[str]) -> str:
    c = Counter(values)
    if len(c) == 1:
        return values[0]
    return "; ".join(f"{v} ({n} runs)" for v, n in sorted(c.items()))


def environment_rows(runs: Sequence[Run]) -> list[list[str]]:
    """[field, value] rows: code commit, package versions, Python, platform, CPU model and numeric
    signature (manifest.json environment) over the trained runs; a field that differs between runs
    lists each value with its count."""
    envs = [(r.manifest or {}).get("environment") or {} for r in runs if not r.reference]
    envs = [e for e in envs if e]
    if not envs:
        return [["environment", "not recorded in manifest.json"]]

    def field(get) -> str:
        vals = []
        for e in envs:
            try:
                v = get(e)
            except (KeyError, TypeError):
                v = None
            vals.append(fmt.NA if v in (None, "", {}) else str(v))
        return _counted(vals)

    sig = lambda e: e["numeric_signature"]  # noqa: E731
    rows = [["code commit", field(lambda e: e["git_commit"])],
            ["device", field(lambda e: e["device"])],
            ["CPU model", field(lambda e: sig(e)["cpu_model"])],
            ["CPU capability", field(lambda e: sig(e)["cpu_capability"])],
            ["machine, platform", field(lambda e: f"{e['machine']}, {e['platform']}")],
            ["torch threads (intra / inter op)",
             field(lambda e: f"{sig(e)['threads']['intra_op']} / {sig(e)['threads']['inter_op']}")],
            ["BLAS", field(lambda e: sig(e)["build"]["blas_info"])],
            ["numeric signature id", field(lambda e: sig(e)["signature_id"])]]
    names = sorted({k for e in envs for k in (e.get("versions") or {})})
    for n in names:
        rows.append([f"{n} version", field(lambda e, n=n: e["versions"][n])])
    return rows
