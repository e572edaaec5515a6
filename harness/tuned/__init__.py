"""Tuned setting files: a tuning study's chosen values per variant and data set, with provenance.

The format (``"format": "gan-harness tuned setting"``, ``"version": 1``) is one JSON object:
``name``, ``description``, ``overrides`` (values every variant shares: the base setting's), ``values``
(variant -> data set -> the chosen knob values), ``provenance`` (the study: search space, N, budget,
objective, tuning and report seeds, commit, command, report) and ``sha256``: the SHA-256 of the
canonical JSON of every other key. A file whose hash does not match (edited by hand, truncated) or
whose format or version is not this one is refused in one line: a setting whose origin cannot be
shown is not one a paper can cite. The files in this folder are registered under their names
(harness.settings, which turns a payload into a Setting).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from ..errors import HarnessError
from ..runs import atomic_write_bytes

FORMAT = "gan-harness tuned setting"
VERSION = 1
_KEYS = ("format", "version", "name", "description", "overrides", "values", "provenance", "sha256")


def content_hash(payload: Mapping[str, Any]) -> str:
    body = {k: v for k, v in payload.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def setting_payload(name: str, description: str, overrides: Mapping[str, Any],
                    values: Mapping[str, Mapping[str, Mapping[str, Any]]], provenance: Mapping[str, Any]) -> dict:
    payload = {"format": FORMAT, "version": VERSION, "name": name, "description": description,
               "overrides": dict(overrides), "values": {v: dict(d) for v, d in values.items()},
               "provenance": dict(provenance)}
    payload["sha256"] = content_hash(payload)
    return payload


def write_setting_file(path: str | Path, payload: Mapping[str, Any]) -> Path:
    path = Path(path)
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())
    return path


def read_setting_file(path: str | Path) -> dict[str, Any]:
    """The payload of a tuned setting file, checked (HarnessError in one line otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"setting file not found: {path}")
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HarnessError(f"setting file {path} is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise HarnessError(f"setting file {path} is not a tuned setting (format must be {FORMAT!r})")
    if payload.get("version") != VERSION:
        raise HarnessError(f"setting file {path} has version {payload.get('version')!r}; this harness reads "
                           f"version {VERSION}")
    missing = [k for k in _KEYS if k not in payload]
    if missing:
        raise HarnessError(f"setting file {path} lacks {', '.join(missing)}")
    if payload["sha256"] != content_hash(payload):
        raise HarnessError(f"setting file {path}: sha256 does not match its content (edited by hand or "
                           f"damaged); re-run the tuning study that wrote it")
    return payload
