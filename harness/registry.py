"""One small registry type for variants, data sets, networks, metrics and feature extractors.

Registries are explicit and offline: resolving a name never touches the network, and an
unknown name fails with the known ones and a "did you mean". A registry may match names
case-insensitively (``match="case"``: RING8 is ring8) or also ignore "-", "_" and spaces
(``match="loose"``: the display spelling SN-GAN is sngan, WGAN-GP is wgan-gp), and may hold aliases
(another name for a registered entry); a name that matches more than one entry is refused.
"""
from __future__ import annotations

import difflib
import warnings
import re
from importlib import metadata
from typing import Generic, Iterator, TypeVar

from .errors import HarnessError, UnknownNameError

T = TypeVar("T")


class PluginWarning(UserWarning):
    """A plugin (entry point) that could not be loaded and was skipped."""


MATCHES = ("exact", "case", "loose")


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str | None = None, match: str = "exact"):
        if match not in MATCHES:
            raise ValueError(f"match must be one of {MATCHES}, got {match!r}")
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.match = match
        self._items: dict[str, T] = {}
        self._aliases: dict[str, tuple[str, str]] = {}  # alias -> (registered name, description)
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str, item: T, *, replace: bool = False) -> T:
        if not name or not isinstance(name, str):
            raise HarnessError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items and not replace:
            raise HarnessError(f"{self.kind} {name!r} is already registered (pass replace=True to override)")
        self._items[name] = item
        return item

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in metadata.entry_points(group=self.entry_point_group):
            if ep.name in self._items:
                continue
            try:
                self._items[ep.name] = ep.load()
            except Exception as exc:  # a broken plugin must not take the tool down: warn, skip it
                warnings.warn(f"skipping {self.kind} {ep.name!r}: its entry point {ep.value} failed to load "
                              f"({type(exc).__name__}: {exc})", PluginWarning, stacklevel=3)

    def alias(self, alias: str, target: str, description: str = "") -> None:
        """Make `alias` another name of the registered entry `target` (it resolves to `target`)."""
        if not alias or not isinstance(alias, str):
            raise HarnessError(f"{self.kind} alias must be a non-empty string, got {alias!r}")
        if alias in self._items or alias in self._aliases:
            raise HarnessError(f"{self.kind} {alias!r} is already registered")
        if target not in self._items:
            raise HarnessError(f"alias {alias!r}: unknown {self.kind} {target!r}")
        self._aliases[alias] = (target, description)

    def aliases(self) -> dict[str, tuple[str, str]]:
        """alias -> (the registered name it stands for, description)."""
        return dict(sorted(self._aliases.items()))

    def _key(self, name: str) -> str:
        if self.match == "exact":
            return name
        key = name.casefold()
        return re.sub(r"[-_\s]", "", key) if self.match == "loose" else key

    def canonical(self, name: str) -> str:
        """The registered name that `name` stands for: itself, an alias's target, or (under the
        registry's `match`) the one entry it matches. Raises UnknownNameError (one line)."""
        self._load_entry_points()
        if not isinstance(name, str):
            raise UnknownNameError(self.unknown_message(name))
        if name in self._items:
            return name
        if name in self._aliases:
            return self._aliases[name][0]
        if self.match != "exact":
            key = self._key(name)
            hits = sorted({n for n in self._items if self._key(n) == key}
                          | {t for a, (t, _) in self._aliases.items() if self._key(a) == key})
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise UnknownNameError(f"{self.kind} {name!r} is ambiguous: it matches {', '.join(hits)}; "
                                       "spell it exactly")
        raise UnknownNameError(self.unknown_message(name))

    def get(self, name: str) -> T:
        return self._items[self.canonical(name)]

    def unknown_message(self, name: str) -> str:
        known = self.names()
        hint = difflib.get_close_matches(str(name), known + list(self._aliases), n=1)
        msg = f"unknown {self.kind} {name!r}"
        if hint:
            msg += f" (did you mean {hint[0]!r}?)"
        return msg + f"; known: {', '.join(known)}"

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def registration_order(self) -> list[str]:
        """Names in the order they were registered (``names()`` sorts them)."""
        self._load_entry_points()
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._items[n]) for n in self.names()]
