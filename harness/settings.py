"""Named hyper-parameter settings: how the variants are trained, kept apart from what they are.

A variant (harness.variant) is its parts and the defaults its authors published, at image scale.
A *setting* is a named set of training hyper-parameters (optimiser, learning rates, betas, D steps
per G step, schedule, budget) laid over every variant of a suite, so that a comparison states
which regime it used and every variant gets the same budget. A setting never changes a variant's
parts (loss, penalty, constraint, update scheme): those are the method under comparison. It may set
a part's *weight* (the penalty's lambda, clipping's bound): how strongly a method is applied is a
hyper-parameter to tune, not the method's identity.

A *tuned* setting (written by ``gan-harness tune``, harness.tune) also holds values per variant and
data set: each variant's own chosen point. It is a versioned JSON file with its provenance and a
SHA-256 of its content; ``--setting FILE`` loads one, and the files shipped in ``harness/tuned/``
are registered under their names.

Layers, lowest first: data set defaults < variant defaults < setting < suite overrides < grid
point < ``--set``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import warnings
from pathlib import Path

from .errors import HarnessError
from .registry import Registry
from .tuned import read_setting_file
from .spec import FIELDS, make_config, unknown_key_message

#: fields that define a variant's method; a setting may not change them (it may set their weights:
#: penalty_weight, clip_value)
METHOD_FIELDS = ("loss", "penalty", "constraint", "update")


@dataclass(frozen=True)
class Setting:
    name: str
    description: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""  # how the values were chosen (a committed sweep, a paper)
    #: variant -> data set -> values laid over `overrides` (a tuned setting); {} for one regime for all
    per_variant: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)  # a tuned setting's study (harness.tune)

    def __post_init__(self) -> None:
        layers = [("", self.overrides)] + [(f" ({v} on {d})", values) for v, by_ds in self.per_variant.items()
                                           for d, values in by_ds.items()]
        for where, layer in layers:
            for key in layer:
                if key not in FIELDS:
                    raise HarnessError(f"setting {self.name!r}{where}: " + unknown_key_message(key, sorted(FIELDS)))
                if key in METHOD_FIELDS:
                    raise HarnessError(f"setting {self.name!r} may not set {key!r}: it is part of a variant's "
                                       f"method")
            make_config(self.overrides, layer)  # types and ranges

    def values_for(self, variant: str, dataset: str) -> dict[str, Any]:
        """The values this setting lays over `variant` on `dataset`: its overrides, then a tuned
        setting's values for that pair (HarnessError naming what it holds when it has none)."""
        if not self.per_variant:
            return dict(self.overrides)
        by_dataset = self.per_variant.get(variant, {})
        tuned = by_dataset.get(dataset)
        fallback = self.provenance.get("fallback_dataset")
        if tuned is None and fallback in by_dataset:
            warnings.warn(f"setting {self.name!r} was not tuned on {dataset}: {variant} takes its values for "
                          f"{fallback}; for a fair comparison there, tune it (gan-harness tune --datasets "
                          f"{dataset})", stacklevel=3)
            tuned = by_dataset[fallback]
        if tuned is None:
            held = ", ".join(f"{v} on {d}" for v, by_ds in sorted(self.per_variant.items()) for d in sorted(by_ds))
            raise HarnessError(f"setting {self.name!r} holds no tuned values for {variant} on {dataset} "
                               f"(it holds: {held}); tune it (gan-harness tune --variants {variant} --datasets "
                               f"{dataset}) or pick a plain --setting (authors, 2d)")
        return {**self.overrides, **tuned}


SETTINGS: Registry[Setting] = Registry("setting")
SHIPPED = Path(__file__).resolve().parent / "tuned"  # tuned setting files registered under their names
DEFAULT_SETTING = "authors"


def register_setting(setting: Setting, *, replace: bool = False) -> Setting:
    if not isinstance(setting, Setting):
        raise HarnessError(f"register_setting expects a harness.Setting, got {type(setting).__name__}")
    return SETTINGS.register(setting.name, setting, replace=replace)


def get_setting(name: str) -> Setting:
    """A registered setting by name, or a tuned setting file by path (``*.json``), which is then
    registered under the name it holds."""
    if name.endswith(".json") or ("/" in name and name not in SETTINGS.names()):
        return load_setting_file(name)
    return SETTINGS.get(name)


register_setting(Setting(
    name="authors",
    description="each variant's published image-scale hyper-parameters (optimiser, learning rates, betas, "
                "D steps per G step), as its variant declares them",
    source="the papers and reference code each variant cites"))

# The 2-D setting of the quick suite: one optimiser and schedule for every variant and one D step per
# G step, so G steps, D steps and samples seen are equal across variants. The learning rate was
# chosen by the committed sweep reports/sweep-2d (README, "How the quick suite was chosen").
SETTING_2D: dict[str, Any] = {"optimizer": "adam", "lr_g": 2e-3, "lr_d": 2e-3, "beta1": 0.0, "beta2": 0.9,
                              "n_dis": 1, "lr_schedule": "linear"}
register_setting(Setting(
    name="2d",
    description="one regime for every variant on the 2-D mixtures: Adam (0, 0.9), lr 2e-3 for both players "
                "decaying linearly to 0, 1 D step per G step",
    overrides=SETTING_2D,
    source="learning rate chosen by the sweep in reports/sweep-2d"))

# PacGAN's 2-D experiments (fjxmlzn/PacGAN, synthetic_data_experiments/*/config.py): Adam with
# learning rate 1e-4 and beta1 0.8 for both players (beta2 and epsilon at the Adam defaults of the
# blocks library it uses: 0.999, 1e-8), a constant rate, one D update per G update.
register_setting(Setting(
    name="pacgan",
    description="PacGAN's 2-D regime: Adam lr 1e-4, betas (0.8, 0.999) for G and D, constant, 1 D step per G step",
    overrides={"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.8, "beta2": 0.999, "n_dis": 1,
               "lr_schedule": "constant"},
    source="fjxmlzn/PacGAN, synthetic_data_experiments/2DRing_GAN&PacGAN/config.py and 2DGrid_GAN&PacGAN/config.py"))


# ----------------------------------------------------------------------------- tuned setting files
def setting_from_payload(payload: Mapping[str, Any], source: str):
    prov = payload["provenance"]
    return Setting(name=str(payload["name"]), description=str(payload["description"]),
                   overrides=dict(payload["overrides"]), per_variant=payload["values"], provenance=prov,
                   source=f"tuning study {prov.get('report') or source} (N = {prov.get('n')} points per variant)")


def load_setting_file(path: str | Path, replace: bool = False):
    """Read a tuned setting file and register it under its name (an identical file twice is one
    setting; another setting under the same name is refused unless `replace`: a study that re-makes
    its own setting)."""
    payload = read_setting_file(path)
    setting = setting_from_payload(payload, "")
    where = str(Path(path).resolve())
    if setting.name in SETTINGS.names():
        old = SETTINGS.get(setting.name)
        same = (old.overrides, old.per_variant, old.provenance) == (setting.overrides, setting.per_variant,
                                                                    setting.provenance)
        if same:
            return old
        if not replace and _LOADED_FROM.get(setting.name) != where:  # a re-written file replaces its own setting
            raise HarnessError(f"setting file {path} is named {setting.name!r}, which names another setting "
                               f"already; rename one of them")
    _LOADED_FROM[setting.name] = where
    return register_setting(setting, replace=True)


_LOADED_FROM: dict[str, str] = {}  # setting name -> the file it was loaded from


def register_shipped() -> None:
    """Register every tuned setting file shipped in harness/tuned/."""
    for path in sorted(SHIPPED.glob("*.json")):
        load_setting_file(path)


# The tuned settings shipped in harness/tuned/ (written by `gan-harness tune`; docs/TUNING.md).
register_shipped()
