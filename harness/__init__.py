"""gan-harness: a GAN stability evaluation harness.

Public verbs: :func:`train` (one run), :func:`run_suite` (a grid of runs), :func:`load_runs`
(stored runs as a DataFrame), :func:`evaluate_samples` (score any GAN's samples), and
:func:`register_variant` for your own variants. The engine (:class:`State`, :class:`Run`, training
hooks :class:`Hook`) is documented in docs/ENGINE.md.
"""

from .errors import HarnessError  # noqa: E402
from .runs import harness_version as _harness_version  # noqa: E402
from .runs import load_evaluations, load_history, load_runs  # noqa: E402
from .spec import Config, RunSpec, SuiteSpec, make_config  # noqa: E402
from .variant import Variant, get_variant, register_variant, variant_names  # noqa: E402

__version__ = _harness_version()


def __getattr__(name: str):
    # heavier entry points are imported lazily to keep `import harness` fast
    if name == "train":
        from .trainer import train

        return train
    if name == "resolve_run":
        from .resolve import resolve_run

        return resolve_run
    if name in ("run_suite", "SUITES", "expand_suite"):
        from . import suite as _suite

        return getattr(_suite, name)
    if name in ("State", "Run"):
        from . import trainer as _trainer

        return getattr(_trainer, name)
    if name in ("Hook", "HOOKS"):
        from . import hooks as _hooks

        return getattr(_hooks, name)
    if name == "evaluate_samples":
        from .evaluate import evaluate_samples

        return evaluate_samples
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


__all__ = ["HarnessError", "Config", "RunSpec", "SuiteSpec", "Variant", "make_config", "load_runs",
           "load_history", "load_evaluations", "register_variant", "get_variant", "variant_names",
           "train", "run_suite", "evaluate_samples", "resolve_run", "State", "Run", "Hook", "HOOKS"]
