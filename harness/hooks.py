"""Training hooks: code that sees the whole training step without being a loss, penalty or constraint.

A hook is a class registered in :data:`HOOKS` and switched on per run by the config key ``hooks``
(``--set hooks=ema`` or ``--set hooks=ema:decay=0.99``; several names are separated by ``+``). The
loop calls, for every hook of a run, in the order named:

- ``start(state)`` once, after the networks and optimisers are built;
- ``after_d_step(state)`` after each D update (``state.d_index``: which of the ``n_dis`` it was);
- ``after_g_step(state)`` after each G update (``state.step``: the G step just taken);
- ``generator(state)``: the G that evaluation scores (samples, metrics, snapshots, the final
  ``G_eval`` weights); ``None`` (the default) scores the trained G itself;
- ``state_dict()`` / ``load_state_dict(d)``: what a resume checkpoint keeps of the hook besides its
  generator (whose weights the loop saves itself): tensors and plain containers, e.g. a counter, so
  a run killed and resumed equals the uninterrupted one bit for bit.

``state`` is the run's training state (harness.trainer): ``state.G``, ``state.D``, ``state.opt_g``,
``state.opt_d``, ``state.cfg``, ``state.step``, ``state.last`` (the last batches and losses),
``state.streams`` (named random streams). A hook's parameters are declared as the class attribute
``params`` (name -> default; the default's type is the parameter's type) and given as
``name:key=value,key=value``; an unknown hook or parameter, or a value of the wrong type, is refused
before any work starts.

A hook that also runs for seed-stacked members (``--vectorize``) says so with ``batched = True``: its
generator is then a stacked copy of the stacked G (harness.vectorize writes member k's slice into
member k's own hook before scoring it) and any other state it keeps is the same for every member.
A run with a hook that is not batched is refused under ``--vectorize``.

Example (exponential moving average of G's weights for evaluation, Yazici et al. 2019): the README's
``ema.py`` plugin, run with ``gan-harness run --plugin ema.py --set hooks=ema``.
"""
from __future__ import annotations

from typing import Any

from .errors import HarnessError
from .registry import Registry


class Hook:
    """Base class of a training hook: override what you need (see the module docstring)."""

    #: parameter name -> default (its type is the parameter's type)
    params: dict[str, Any] = {}
    #: True when the hook also runs on seed-stacked members (--vectorize)
    batched: bool = False

    def __init__(self, **params: Any):
        for key, value in params.items():
            setattr(self, key, value)

    def start(self, state: Any) -> None:
        pass

    def after_d_step(self, state: Any) -> None:
        pass

    def after_g_step(self, state: Any) -> None:
        pass

    def generator(self, state: Any) -> Any:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


HOOKS: Registry[type] = Registry("hook", "gan_harness.hooks")


def _coerce_param(hook: str, key: str, default: Any, text: str) -> Any:
    where = f"hooks: {hook}:{key}={text}"
    if isinstance(default, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise HarnessError(f"{where}: expected true or false")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise HarnessError(f"{where}: expected an integer") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise HarnessError(f"{where}: expected a number") from None
    return text


def parse_hooks(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The hooks a ``hooks`` config value names, with their parameters filled in from the declared
    defaults: ``'ema:decay=0.99+other'`` -> ``[('ema', {'decay': 0.99}), ('other', {...})]``.
    HarnessError (one line) for an unknown hook or parameter, a bad value or a hook named twice."""
    out: list[tuple[str, dict[str, Any]]] = []
    if not text.strip():
        return out
    for item in text.split("+"):
        name, _, rest = item.strip().partition(":")
        name = name.strip()
        if not name:
            raise HarnessError(f"hooks={text!r}: an empty hook name")
        cls = HOOKS.get(name)
        declared = dict(getattr(cls, "params", {}) or {})
        values = dict(declared)
        for pair in (p.strip() for p in rest.split(",") if p.strip()):
            key, eq, value = pair.partition("=")
            key = key.strip()
            if not eq:
                raise HarnessError(f"hooks: {name}:{pair}: expected key=value")
            if key not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise HarnessError(f"hooks: {name} has no parameter {key!r} (its parameters: {known})")
            values[key] = _coerce_param(name, key, declared[key], value.strip())
        if any(n == name for n, _ in out):
            raise HarnessError(f"hooks={text!r}: {name} is named twice")
        out.append((name, values))
    return out


def build_hooks(text: str) -> list[Hook]:
    """Fresh hook objects for one run's ``hooks`` config value."""
    return [HOOKS.get(name)(**values) for name, values in parse_hooks(text)]
