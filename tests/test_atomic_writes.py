"""Run files are written atomically: a write interrupted half way (disk full, a crash before the data
reach the disk) leaves the previous file as it was and no temporary file behind."""
from __future__ import annotations

import builtins
import contextlib
import io
import json
import os

import numpy as np
import pytest

from harness import runs

OLD = b'{"status": "completed", "step": 30}\n'
NEW = b'{"status": "running", "step": 0, "reason": null, "padding": "' + b"x" * 4000 + b'"}\n'


class HalfWriter:
    """A writable file that stores the first half of the first write, flushes it, then fails."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        data = bytes(data)
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        raise OSError(28, "No space left on device (simulated)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False

    def __getattr__(self, name):
        return getattr(self._fh, name)


@contextlib.contextmanager
def writes_fail_half_way(monkeypatch):
    """Within the block, every file opened for writing fails half way through its first write:
    open, os.fdopen and Path.write_bytes all go through io.open."""
    real_open = io.open

    def half_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        return HalfWriter(fh) if any(c in mode for c in "wax+") else fh

    with monkeypatch.context() as m:
        m.setattr(io, "open", half_open)
        m.setattr(builtins, "open", half_open)
        yield


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


def test_a_write_that_fails_half_way_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "status.json"
    runs.atomic_write_bytes(path, OLD)
    with writes_fail_half_way(monkeypatch):
        with pytest.raises(OSError, match="simulated"):
            runs.atomic_write_bytes(path, NEW)
    assert path.read_bytes() == OLD
    assert leftovers(tmp_path) == ["status.json"]  # no temporary file left behind


def test_a_write_whose_data_never_reach_the_disk_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    runs.atomic_write_json(path, json.loads(OLD))
    before = path.read_bytes()

    def fsync_fails(fd):
        raise OSError(5, "Input/output error (simulated)")

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", fsync_fails)
        with pytest.raises(OSError, match="simulated"):
            runs.atomic_write_json(path, json.loads(NEW))
    assert path.read_bytes() == before
    assert json.loads(before) == json.loads(OLD)
    assert leftovers(tmp_path) == ["summary.json"]


def test_an_interrupted_array_write_keeps_the_previous_array(tmp_path, monkeypatch):
    path = tmp_path / "samples.npy"
    runs.atomic_write_npy(path, np.arange(6.0).reshape(3, 2))
    with writes_fail_half_way(monkeypatch):
        with pytest.raises(OSError, match="simulated"):
            runs.atomic_write_npy(path, np.ones((500, 2)))
    np.testing.assert_array_equal(np.load(path), np.arange(6.0).reshape(3, 2))
    assert leftovers(tmp_path) == ["samples.npy"]


def test_a_successful_write_replaces_the_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "sub" / "status.json"
    runs.atomic_write_bytes(path, OLD)
    runs.atomic_write_bytes(path, NEW)
    assert path.read_bytes() == NEW
    assert leftovers(path.parent) == ["status.json"]


def test_written_files_get_the_mode_a_plain_open_would_give(tmp_path):
    # mkstemp creates 0600 files: results (and the metric cache) must stay readable to the group a
    # runs directory is shared with, as any file the user's umask allows
    import os
    import stat

    from harness.metrics.cache import atomic_save_npz

    old = os.umask(0o022)
    try:
        runs.atomic_write_bytes(tmp_path / "a.json", NEW)
        atomic_save_npz(tmp_path / "c.npz", {"x": np.zeros(3)})
        (tmp_path / "plain").write_bytes(NEW)
    finally:
        os.umask(old)
    plain = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    assert plain == 0o644
    for name in ("a.json", "c.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == plain, name
    assert np.load(tmp_path / "c.npz")["x"].tolist() == [0.0, 0.0, 0.0]
