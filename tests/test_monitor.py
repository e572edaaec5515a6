"""The device-side divergence monitor: no host sync per step, yet the first bad step is recorded."""
import math

import pytest
import torch

from harness.parts import LOSSES, LossPair
from harness.parts.losses import bce_d, nonsaturating_g
from harness.runs import read_json
from harness.trainer import FiniteMonitor, resolve_run, train


def test_monitor_records_the_first_bad_step_and_its_reason():
    m = FiniteMonitor(100.0, torch.device("cpu"))
    one = torch.tensor(1.0)
    for step, (d, g) in enumerate([(1.0, 2.0), (1.0, 500.0), (math.nan, 1.0), (1.0, 1.0)], start=1):
        m.update(step, torch.tensor(d), torch.tensor(g))
    assert m.read() == [(2, "|loss_g| = 500 exceeds explode_threshold 100")]
    fresh = FiniteMonitor(100.0, torch.device("cpu"))
    fresh.update(1, one, one)
    assert fresh.read() == [None]
    inf = FiniteMonitor(math.inf, torch.device("cpu"))
    inf.update(1, torch.tensor(math.inf), one)
    assert inf.read() == [(1, "loss_d is inf")]


def test_monitor_per_member():
    m = FiniteMonitor(10.0, torch.device("cpu"), (3,))
    m.update(1, torch.tensor([1.0, 1.0, 1.0]), torch.tensor([1.0, 1.0, 1.0]))
    m.update(2, torch.tensor([1.0, math.nan, 1.0]), torch.tensor([1.0, 1.0, -20.0]))
    m.update(3, torch.tensor([math.nan, math.nan, 1.0]), torch.tensor([1.0, 1.0, 1.0]))
    assert m.read() == [(3, "loss_d is nan"), (2, "loss_d is nan"), (2, "|loss_g| = -20 exceeds explode_threshold 10")]


def test_a_run_records_the_step_its_loss_first_went_bad_between_log_steps(tmp_path, tiny):
    calls = {"n": 0}

    def g_nan_from_call_7(d_fake):
        calls["n"] += 1
        return nonsaturating_g(d_fake) * (math.nan if calls["n"] >= 7 else 1.0)

    LOSSES.register("test-nan-at-7", LossPair(bce_d, g_nan_from_call_7), replace=True)
    spec = resolve_run("vanilla", "ring8", 0, {**tiny, "loss": "test-nan-at-7", "log_every": 10, "eval_every": 0})
    summary = train(spec, tmp_path / "run")
    assert summary["status"] == "diverged"
    assert summary["step"] == 7 and summary["g_steps"] == 7  # not 10, the log step it was read at
    assert summary["reason"] == "loss_g is nan"
    assert read_json(tmp_path / "run" / "status.json")["step"] == 7
    assert calls["n"] == 10  # detected at the log step: no host sync before it
