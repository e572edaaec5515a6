"""From names and overrides to a validated RunSpec, and everything that can be checked before work.

`resolve_run` merges the config layers and checks every name (variant, data set, loss, penalty,
constraint, optimiser, architecture, device); `check_preconditions` opens each data set and builds
each evaluator of a sweep once, so a missing file, a missing weights file, too few real images for
the feature dimension, or an evaluation option that does not apply stops the sweep with one line
before any run starts. The trainer, the suite runner and `evaluate` all go through here.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .data import DATASETS, Dataset, Evaluator, canonical_dataset, get_dataset
from .errors import HarnessError
from .hooks import parse_hooks
from .nets import NETS
from .parts import CONSTRAINTS, LOSSES, OPTIMIZERS, PENALTIES
from .spec import FIELDS, LR_SCHEDULES, UPDATES, Config, RunSpec, choice_fields, make_config, unknown_key_message
from .settings import DEFAULT_SETTING, get_setting
from .variant import canonical_variant, get_variant

#: Config fields that only concern evaluation; each data set's evaluator declares which it takes.
EVAL_OPTIONS = ("n_w1", "features", "feature_weights")


def allowed_choices(kind: str) -> list[str]:
    """The allowed values of a choice field (`kind` as named in the field's metadata)."""
    registries = {"loss": LOSSES, "penalty": PENALTIES, "constraint": CONSTRAINTS, "optimizer": OPTIMIZERS}
    if kind in registries:
        return registries[kind].names()
    if kind == "arch":
        return ["auto", *NETS.names()]
    if kind == "update":
        return list(UPDATES)
    if kind == "lr_schedule":
        return list(LR_SCHEDULES)
    raise HarnessError(f"config field kind {kind!r} has no registry")  # pragma: no cover (a programming error)


def check_choices(cfg: Config) -> None:
    for name, kind in choice_fields().items():
        value, allowed = getattr(cfg, name), allowed_choices(kind)
        if value not in allowed:
            raise HarnessError(unknown_key_message(value, allowed, what=name).replace("unknown", "unknown value for", 1))
    parse_hooks(cfg.hooks)  # names registered (by now, plugins included), parameters declared
    if cfg.update == "unrolled":
        from .unroll import UNROLLABLE

        if cfg.optimizer not in UNROLLABLE:
            raise HarnessError(f"update=unrolled: optimizer {cfg.optimizer!r} is not unrolled "
                               f"(unrolled: {', '.join(UNROLLABLE)})")
        if cfg.pack != 1:
            raise HarnessError("update=unrolled: pack > 1 is not unrolled (PacGAN's packed D)")


def dataset_defaults(name: str) -> Mapping[str, Any]:
    """Config defaults a data set asks for (a ``defaults`` attribute on its factory)."""
    return getattr(DATASETS.get(name), "defaults", {}) or {}


def check_device(device: str) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise HarnessError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type not in ("cpu", "cuda"):
        raise HarnessError(f"unsupported device {device!r}; use cpu, cuda or cuda:N")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HarnessError(f"device {device!r} requested but CUDA is not available (torch {torch.__version__})")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise HarnessError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    return dev


def resolve_run(variant: str, dataset: str, seed: int, overrides: Mapping[str, Any] | None = None,
                device: str = "cpu", suite_overrides: Mapping[str, Any] | None = None,
                grid: Mapping[str, Any] | None = None, setting: str = DEFAULT_SETTING,
                tuned_as: str | None = None) -> RunSpec:
    """Validate names and values and build the RunSpec (raises HarnessError before any work).
    Layers, lowest first: data set defaults < variant defaults < setting (harness.settings) < suite
    overrides < grid point < overrides. Names are stored canonically: the variant's registered name
    (SN-GAN -> sngan), the data set's canonical name (RING8 -> ring8; a family member with its
    parameters sorted and defaults filled in). `tuned_as`: under a tuned setting, take that
    variant's values (a candidate checked against a reference trains with the reference's)."""
    variant = canonical_variant(variant)
    dataset = canonical_dataset(dataset)
    v = get_variant(variant)
    chosen = get_setting(setting)
    ds_defaults = dataset_defaults(dataset)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise HarnessError(f"seed must be a non-negative integer, got {seed!r}")
    laid = chosen.values_for(canonical_variant(tuned_as) if tuned_as else variant, dataset)
    cfg = make_config(ds_defaults, v.defaults, laid, suite_overrides or {}, grid or {}, overrides or {})
    check_choices(cfg)
    check_device(device)
    return RunSpec(variant=variant, dataset=dataset, seed=int(seed), config=cfg, device=device,
                   grid=dict(sorted((grid or {}).items())), setting=chosen.name)


def override_note(variant: str, dataset: str, setting: str = DEFAULT_SETTING) -> str | None:
    """One line naming the variant's own defaults that `setting` replaces on `dataset` (a variant's
    TTUR learning rates silently replaced by a suite's setting was a trap), or None."""
    name = canonical_variant(variant)
    chosen = get_setting(setting)
    own = get_variant(name).defaults
    laid = chosen.values_for(name, canonical_dataset(dataset))
    changed = [f"{k} {own[k]!r} -> {laid[k]!r}" for k in sorted(laid) if k in own and laid[k] != own[k]]
    if not changed:
        return None
    return f"setting {chosen.name} overrides {name}'s own defaults on {dataset}: {', '.join(changed)}"


def make_dataset(name: str, config: Config) -> Dataset:
    """The data set `name` (any spelling canonical_dataset accepts, e.g. 'ring:modes=8,radius=1,sigma=0.01')."""
    return get_dataset(name, config=config)


def evaluator_options(data: Dataset, config: Config) -> dict[str, Any]:
    """The evaluation options of `config` that `data`'s evaluator declares. A non-default option
    that it does not take is an error: a setting that silently does nothing invalidates a study."""
    takes = tuple(getattr(data, "evaluator_options", ()))
    options = {}
    for key in EVAL_OPTIONS:
        value = getattr(config, key)
        if key in takes:
            options[key] = value
        elif value != FIELDS[key].default:
            raise HarnessError(f"{key}={value!r} does not apply to data set {data.name!r} "
                               f"(its evaluator takes: {', '.join(takes) or 'no options'})")
    return options


def make_evaluator(data: Dataset, config: Config, device: str = "cpu") -> Evaluator:
    """The data set's evaluator under the config's evaluation options (one place for train and evaluate)."""
    return data.evaluator(config.n_eval, device=device, **evaluator_options(data, config))


def check_preconditions(specs: Sequence[RunSpec]) -> None:
    """Open each data set and build each evaluator of `specs` once: files present, shapes valid,
    weights on disk, enough real samples for the metric, options that apply. Raises HarnessError
    (one line) before any run starts, instead of a failure in every run."""
    datasets: dict[tuple, Dataset] = {}
    evaluators: set[tuple] = set()
    for spec in specs:
        cfg = spec.config
        key = (spec.dataset, cfg.data_path, cfg.image_size)
        if key not in datasets:
            datasets[key] = make_dataset(spec.dataset, cfg)
        ekey = key + (cfg.n_eval, *(getattr(cfg, k) for k in EVAL_OPTIONS), spec.device)
        if ekey not in evaluators:
            evaluators.add(ekey)
            make_evaluator(datasets[key], cfg, spec.device)
