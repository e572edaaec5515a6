"""Typed, strict configuration: frozen dataclasses for runs and suites, with parsing and validation.

A misspelt option that silently falls back to a default invalidates a study, so unknown keys and
wrong types are errors that name the key. Precedence of values, lowest first:
``Config`` defaults < data set defaults < variant defaults < suite overrides < ``--set`` overrides.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import HarnessError


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be > 0"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _unit_interval(v: Any) -> str | None:
    return None if 0 <= v < 1 else "must be in [0, 1)"


def _opt(default: Any, help: str, check: Callable[[Any], str | None] | None = None, choices: str | None = None,
         results: bool = True, recorded_at_default: bool = True):
    """A config field. `choices` names a registry whose keys are the allowed values. `results=False`
    marks an execution option: it changes how a run is carried out, never a number it produces, so
    it is kept out of the run's config record and fingerprint (see RunSpec.to_dict).
    `recorded_at_default=False` (fields added after runs and baselines were recorded, whose default
    is the behaviour from before): the field enters the config record and fingerprint only when it
    is set to another value, so every config that predates it keeps its record and fingerprint."""
    return field(default=default, metadata={"help": help, "check": check, "choices": choices, "results": results,
                                            "recorded_at_default": recorded_at_default})


@dataclass(frozen=True)
class Config:
    """Every hyper-parameter of a run. Each one is overridable with ``--set name=value``."""

    # budget
    steps: int = _opt(2000, "generator steps (the budget)", _positive)
    batch_size: int = _opt(256, "samples per batch for both players", _positive)
    train_size: int = _opt(0, "a fixed training set of this many points, drawn once from the run's data stream and "
                           "iterated in shuffled epochs of train_size / batch_size batches (0: a fresh draw each "
                           "batch)", _non_negative, recorded_at_default=False)
    # networks
    arch: str = _opt("auto", "network family: auto (from the data shape), mlp, dcgan or pacgan-mlp", choices="arch")
    z_dim: int = _opt(16, "latent dimension", _positive)
    g_hidden: int = _opt(128, "G width: MLP hidden units, or conv base channels", _positive)
    d_hidden: int = _opt(128, "D width: MLP hidden units, or conv base channels", _positive)
    g_layers: int = _opt(3, "MLP generator hidden layers", _positive)
    d_layers: int = _opt(3, "MLP discriminator hidden layers", _positive)
    pack: int = _opt(1, "PacGAN packing: D judges packs of this many samples concatenated (1: no packing); a batch "
                     "is batch_size packs, batch_size * pack samples", _positive, recorded_at_default=False)
    image_size: int = _opt(0, "image side to train at (0: the data set's native size)", _non_negative)
    data_path: str = _opt("", "local folder or file of an image data set (mnist, cifar10, image-folder); '' = $GAN_HARNESS_DATA")
    # the variant's parts
    loss: str = _opt("nonsaturating", "loss pair", choices="loss")
    penalty: str = _opt("none", "penalty on D", choices="penalty")
    penalty_weight: float = _opt(10.0, "penalty weight (lambda of WGAN-GP, gamma of R1)", _non_negative)
    instance_noise: float = _opt(0.0, "instance noise: D sees real and fake samples plus sigma N(0, I), this sigma "
                                 "(Sonderby et al. 2017; 0: none)", _non_negative, recorded_at_default=False)
    constraint: str = _opt("none", "constraint on D", choices="constraint")
    clip_value: float = _opt(0.01, "weight-clipping bound for constraint=clip", _positive)
    n_dis: int = _opt(1, "D steps per G step", _positive)
    update: str = _opt("alternating", "alternating or simultaneous updates, or consensus optimisation (simultaneous, "
                       "each player's gradient plus consensus_weight x the gradient of (1/2) ||both gradients||^2; "
                       "Mescheder et al. 2017), extragradient (simultaneous, gradients taken again at the "
                       "extrapolated point; Gidel et al. 2019) or optimistic (simultaneous, each step 2 delta_t - "
                       "delta_(t-1); Daskalakis et al. 2018) or unrolled (alternating, G's loss against D after "
                       "unrolled_steps differentiable D steps; Metz et al. 2017)", choices="update")
    unrolled_steps: int = _opt(5, "D steps G looks ahead through with update=unrolled (Metz et al. 2017: 5 on their 2-D "
                               "mixtures)", _positive, recorded_at_default=False)
    consensus_weight: float = _opt(1.0, "gamma of update=consensus", _non_negative, recorded_at_default=False)
    hooks: str = _opt("", "training hooks (harness.hooks), '+'-separated, each name[:key=value,...], e.g. ema or "
                      "ema:decay=0.99 (a plugin's; '' : none)", recorded_at_default=False)
    # optimisers
    optimizer: str = _opt("adam", "optimiser for both players", choices="optimizer")
    lr_g: float = _opt(2e-4, "generator learning rate", _positive)
    lr_d: float = _opt(2e-4, "discriminator learning rate", _positive)
    beta1: float = _opt(0.5, "Adam beta1", _unit_interval)
    beta2: float = _opt(0.999, "Adam beta2", _unit_interval)
    lr_schedule: str = _opt("constant", "learning-rate schedule of both players: constant, or linear (decay to 0 at "
                            "the last G step)", choices="lr_schedule")
    # measurement
    log_every: int = _opt(50, "probe interval in G steps", _positive)
    eval_every: int = _opt(500, "evaluation interval in G steps (0: at the end only)", _non_negative)
    n_eval: int = _opt(2500, "samples per evaluation (fixed latent bank)", _positive)
    noise_banks: int = _opt(5, "further latent banks the final G is scored on to measure evaluation noise (0: none)",
                            _non_negative)
    n_w1: int = _opt(1000, "samples for the exact W1 assignment (O(n^3))", _positive)
    features: str = _opt("", "feature extractor for image metrics ('' = the data set's default)")
    feature_weights: str = _opt("", "weights file of the feature extractor ('' = its default location)")
    explode_threshold: float = _opt(1e8, "|loss| or gradient norm above this marks the run diverged", _positive)
    # execution (changes no result: not in spec.json's config nor in the fingerprint)
    checkpoint_every: int = _opt(0, "write a full-state resume checkpoint every N G steps, so that a killed run "
                                 "continues from it (0: none, only the final weights); changes no result",
                                 _non_negative, results=False)
    vectorize: bool = _opt(False, "train the seeds of one (variant, data set, config) as one batched model "
                           "(MLP networks only; members equal their separate runs to float tolerance)", results=False)

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """The fields that decide the numbers (what spec.json's "config" holds and the fingerprint hashes);
        a field declared recorded_at_default=False only when it differs from its default."""
        return {k: v for k, v in dataclasses.asdict(self).items()
                if k not in EXECUTION_FIELDS and not (k in UNRECORDED_AT_DEFAULT and v == FIELDS[k].default)}

    def execution(self) -> dict[str, Any]:
        """The execution options (fields declared with results=False), e.g. checkpoint_every."""
        return {k: getattr(self, k) for k in EXECUTION_FIELDS}


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
#: fields that change how a run is executed but never its numbers (kept out of config and fingerprint)
EXECUTION_FIELDS: tuple[str, ...] = tuple(n for n, f in FIELDS.items() if not f.metadata["results"])
#: fields left out of the config record and fingerprint while at their default (see _opt)
UNRECORDED_AT_DEFAULT: tuple[str, ...] = tuple(n for n, f in FIELDS.items() if not f.metadata["recorded_at_default"])

UPDATES = ("alternating", "simultaneous", "consensus", "extragradient", "optimistic", "unrolled")
LR_SCHEDULES = ("constant", "linear")


def choice_fields() -> dict[str, str]:
    """Config field -> the name of the registry (or fixed set) its value must come from. The values
    are checked when a run is resolved (harness.resolve), once every registry is filled in."""
    return {name: f.metadata["choices"] for name, f in FIELDS.items() if f.metadata.get("choices")}


def unknown_key_message(key: str, known: list[str], what: str = "config key") -> str:
    hint = difflib.get_close_matches(key, known, n=1)
    return f"unknown {what} {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "") + f"; known: {', '.join(known)}"


def _coerce(key: str, value: Any) -> Any:
    """Convert a value (possibly a CLI string) to the field's type, or fail naming the key."""
    typ = FIELDS[key].type
    typ = {"int": int, "float": float, "str": str, "bool": bool}.get(typ, typ)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
    elif typ is int:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            return value
        elif isinstance(value, float) and value.is_integer():
            return int(value)
        elif isinstance(value, str):
            try:
                f = float(value)
                if f.is_integer() and math.isfinite(f):
                    return int(f)
            except ValueError:
                pass
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif typ is str:
        if isinstance(value, str):
            return value
    raise HarnessError(f"{key}={value!r}: expected {typ.__name__}")


def validate(cfg: Config) -> None:
    """Types and ranges of every field. Choice fields (loss, penalty, ...) name registry entries and
    are checked at resolve time (harness.resolve.check_choices), when plugins have registered theirs."""
    for name, f in FIELDS.items():
        value = getattr(cfg, name)
        coerced = _coerce(name, value)
        if coerced != value or type(coerced) is not type(value):
            object.__setattr__(cfg, name, coerced)
            value = coerced
        if isinstance(value, float) and not math.isfinite(value):
            raise HarnessError(f"{name}={value}: must be finite")
        check = f.metadata.get("check")
        if check is not None:
            problem = check(value)
            if problem:
                raise HarnessError(f"{name}={value}: {problem}")
    if cfg.train_size and cfg.train_size % cfg.batch_size:
        raise HarnessError(f"train_size={cfg.train_size} is not a whole number of batches of batch_size="
                           f"{cfg.batch_size} (an epoch is train_size / batch_size batches)")


def make_config(*layers: Mapping[str, Any]) -> Config:
    """Merge override layers (later wins) onto the defaults, rejecting unknown keys."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key not in FIELDS:
                raise HarnessError(unknown_key_message(key, sorted(FIELDS)))
            merged[key] = _coerce(key, value)
    return Config(**merged)


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """Parse repeated ``--set name=value`` strings into a dict (values stay strings until merged)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise HarnessError(f"--set {item!r}: expected name=value")
        key, value = item.split("=", 1)
        key = key.strip()
        if key not in FIELDS:
            raise HarnessError(unknown_key_message(key, sorted(FIELDS), what="--set key"))
        out[key] = _coerce(key, value.strip())
    return out


def point_label(grid: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(grid.items())).replace("/", "_").replace(" ", "")


@dataclass(frozen=True)
class RunSpec:
    """One training run: everything needed to reproduce it."""

    variant: str
    dataset: str
    seed: int
    config: Config
    device: str = "cpu"
    grid: Mapping[str, Any] = field(default_factory=dict)  # the grid point of a --grid sweep ({} otherwise)
    setting: str = "authors"  # the named hyper-parameter setting it was resolved under (harness.settings)

    @property
    def point(self) -> str:
        """The grid point as a path-safe label, e.g. 'lr_d=0.001,lr_g=0.001' ('' without a grid)."""
        return point_label(self.grid)

    @property
    def run_id(self) -> str:
        point = f"/{self.point}" if self.grid else ""
        return f"{self.variant}/{self.dataset}{point}/seed-{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """"config" holds the fields that decide the numbers, "execution" the execution options
        (checkpoint_every): a run's config record and fingerprint are the same whatever they are."""
        return {"variant": self.variant, "dataset": self.dataset, "seed": self.seed,
                "device": self.device, "config": self.config.to_dict(), "grid": dict(self.grid),
                "setting": self.setting, "execution": self.config.execution()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RunSpec":
        return cls(variant=d["variant"], dataset=d["dataset"], seed=int(d["seed"]),
                   config=make_config(d["config"], d.get("execution") or {}), device=d.get("device", "cpu"),
                   grid=dict(d.get("grid") or {}), setting=str(d.get("setting", "authors")))

    def fingerprint(self) -> str:
        """Hash of everything that determines the numbers (the device is recorded, not hashed; the
        grid point and the setting are already in the config; execution options change no number)."""
        payload = {k: v for k, v in self.to_dict().items() if k not in ("device", "grid", "setting", "execution")}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SuiteSpec:
    """A named grid: variants x data sets x seeds under shared overrides."""

    name: str
    variants: tuple[str, ...]
    datasets: tuple[str, ...]
    seeds: tuple[int, ...]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    setting: str = "authors"  # the named hyper-parameter setting of every run (harness.settings)
    grid: Mapping[str, tuple] = field(default_factory=dict)  # key -> values every run takes (--grid adds to it)
    #: variant -> the variant whose values a tuned setting gives it (a candidate checked against a
    #: reference is trained with the reference's tuned values); {}: each its own
    tuned_as: Mapping[str, str] = field(default_factory=dict)

    def with_(self, **changes: Any) -> "SuiteSpec":
        return dataclasses.replace(self, **changes)
