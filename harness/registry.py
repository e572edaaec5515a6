"""One small registry type for variants, data sets, networks, metrics and feature extractors.

Registries are explicit and offline: resolving a name never touches the network, and an
unknown name fails with the known ones and a "did you mean".
"""
from __future__ import annotations

import difflib
import warnings
from importlib import metadata
from typing import Generic, Iterator, TypeVar

from .errors import HarnessError, UnknownNameError

T = TypeVar("T")


class PluginWarning(UserWarning):
    """A plugin (entry point) that could not be loaded and was skipped."""


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
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

    def get(self, name: str) -> T:
        self._load_entry_points()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        known = self.names()
        hint = difflib.get_close_matches(str(name), known, n=1)
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
