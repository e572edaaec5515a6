"""Training hooks (harness.hooks) and the README's EMA-of-G plugin (issue 19).

Counted calls (one after every D step and every G step, in both update schemes), the EMA against
its closed form over a recorded weight trajectory (a swapped decay is caught), evaluation scoring
the hook's generator, resume and seed-stacking with a hook, and bad input refused in one line.
"""
import importlib.util
import json
import math

import numpy as np
import pytest
import torch

import harness
import harness.plugins
from harness import cli
from harness.hooks import HOOKS, Hook, parse_hooks
from harness.trainer import resolve_run, train
from harness.vectorize import train_group

from test_readme import python_blocks
from test_resume import assert_same_result, interrupted_at
from test_vectorize import float64  # noqa: F401  (a fixture)

TINY = {"steps": 12, "batch_size": 32, "log_every": 4, "eval_every": 6, "n_eval": 300, "n_w1": 100,
        "g_hidden": 16, "d_hidden": 16, "g_layers": 2, "d_layers": 2, "noise_banks": 2}


def _ema_module(tmp_path):
    """The README's ema.py, written to a file and loaded as a plugin (registers the hook 'ema')."""
    (block,) = [b for b in python_blocks() if b.startswith("# ema.py")]
    path = tmp_path / "ema.py"
    path.write_text(block)
    return harness.plugins.load_plugin(str(path)), path


class Spy(Hook):
    """Counts the calls and records G's parameters at the start and after every G step."""

    params = {"tag": "x"}
    batched = True
    log: list = []

    def start(self, state):
        Spy.log.append(("start", state.step, [p.detach().double().clone() for p in state.G.parameters()]))

    def after_d_step(self, state):
        Spy.log.append(("d", state.step, state.d_index))

    def after_g_step(self, state):
        Spy.log.append(("g", state.step, [p.detach().double().clone() for p in state.G.parameters()]))


@pytest.fixture
def spy():
    HOOKS.register("spy", Spy, replace=True)
    Spy.log = []
    yield Spy
    Spy.log = []


@pytest.mark.parametrize("update,n_dis,d_calls", [("alternating", 3, [0, 1, 2]), ("simultaneous", 2, [0, 1])])
def test_hooks_are_called_after_every_d_step_and_every_g_step(spy, update, n_dis, d_calls):
    spec = resolve_run("wgan-gp", "ring8", 0, {**TINY, "steps": 4, "n_dis": n_dis, "update": update,
                                                "hooks": "spy"})
    train(spec)
    kinds = [e[0] for e in Spy.log]
    assert kinds[0] == "start" and kinds.count("start") == 1
    got = [e[:3] if e[0] == "d" else e[:2] for e in Spy.log[1:]]
    assert len(d_calls) == n_dis
    assert got == [c for s in range(1, 5) for c in [("d", s, i) for i in d_calls] + [("g", s)]]


def test_ema_hook_is_the_closed_form_moving_average_of_the_g_trajectory(tmp_path, spy):
    """theta_ema after n G steps = decay^n theta_0 + sum_i (1 - decay) decay^(n - i) theta_i, with the
    theta_i recorded after each G step; the run's G_eval weights are it, and its samples are G_eval's."""
    _ema_module(tmp_path)
    decay = 0.8
    spec = resolve_run("vanilla", "ring8", 0, {**TINY, "hooks": f"ema:decay={decay}+spy"})
    assert spec.config.to_dict()["hooks"] == f"ema:decay={decay}+spy"
    train(spec, tmp_path / "run")
    thetas = [Spy.log[0][2]] + [e[2] for e in Spy.log if e[0] == "g"]
    n = len(thetas) - 1
    assert n == TINY["steps"]
    want = [decay ** n * t0 for t0 in thetas[0]]
    for i in range(1, n + 1):
        want = [w + (1 - decay) * decay ** (n - i) * t for w, t in zip(want, thetas[i])]
    weights = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    got = list(weights["G_eval"].values())
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g.double(), w, rtol=1e-5, atol=1e-6)
    # the averaged G is not the trained one, and it is what the final samples come from
    assert any(not torch.equal(a, b) for a, b in zip(weights["G"].values(), weights["G_eval"].values()))
    from harness.nets import build_networks
    from harness.rng import Streams, normal
    from harness.trainer import generate

    G, _ = build_networks(spec.config, (2,))
    G.load_state_dict(weights["G_eval"])
    z = normal((spec.config.n_eval, spec.config.z_dim), Streams(0)["eval"])
    assert np.array_equal(generate(G, z, 256, torch.device("cpu")), np.load(tmp_path / "run" / "samples.npy"))


def test_ema_with_decay_zero_scores_the_trained_g_bit_for_bit(tmp_path):
    _ema_module(tmp_path)
    plain = resolve_run("vanilla", "ring8", 0, TINY)
    zero = resolve_run("vanilla", "ring8", 0, {**TINY, "hooks": "ema:decay=0"})
    slow = resolve_run("vanilla", "ring8", 0, {**TINY, "hooks": "ema:decay=0.9"})
    assert "hooks" not in plain.to_dict()["config"]  # no hook: the record and fingerprint of before
    assert len({plain.fingerprint(), zero.fingerprint(), slow.fingerprint()}) == 3
    a, b, c = train(plain), train(zero), train(slow)
    assert a["metrics"] == b["metrics"]  # G_eval = G exactly (lerp with weight 1 returns the end)
    assert a["metrics"]["w1"] != c["metrics"]["w1"]


def test_a_run_with_a_hook_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    _ema_module(tmp_path)
    spec = resolve_run("vanilla", "ring8", 0, {**TINY, "steps": 20, "eval_every": 5, "checkpoint_every": 10,
                                                "hooks": "ema:decay=0.7"})
    with interrupted_at(monkeypatch, 13):
        train(spec, tmp_path / "cut")
    ckpt = torch.load(tmp_path / "cut" / "resume.pt", weights_only=True)
    assert ckpt["step"] == 10 and ckpt["hooks"][0]["generator"] is not None
    assert train(spec, tmp_path / "cut")["resumed_at"] == [10]
    train(spec, tmp_path / "whole")
    assert_same_result(tmp_path / "whole", tmp_path / "cut")
    wa = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)["G_eval"]
    wb = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["G_eval"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_seed_stacked_members_with_a_hook_equal_their_separate_runs(tmp_path, float64):
    _ema_module(tmp_path)
    specs = [resolve_run("wgan-gp", "ring8", s, {**TINY, "hooks": "ema:decay=0.9"}) for s in (0, 1)]
    out = train_group(specs, [tmp_path / "vec" / str(s.seed) for s in specs])
    assert [o["status"] for o in out] == ["completed", "completed"]
    for s in specs:
        sep = train(s, tmp_path / "sep" / str(s.seed))
        vec = json.loads((tmp_path / "vec" / str(s.seed) / "summary.json").read_text())
        for m, v in sep["metrics"].items():
            assert vec["metrics"][m] == pytest.approx(v, rel=1e-9, abs=1e-9, nan_ok=True), m
        wa = torch.load(tmp_path / "vec" / str(s.seed) / "checkpoint.pt", weights_only=True)["G_eval"]
        wb = torch.load(tmp_path / "sep" / str(s.seed) / "checkpoint.pt", weights_only=True)["G_eval"]
        for k in wb:
            torch.testing.assert_close(wa[k], wb[k], rtol=1e-9, atol=1e-9)


def test_the_readme_ema_plugin_runs_through_the_cli_as_written(tmp_path, monkeypatch):
    (block,) = [b for b in python_blocks() if b.startswith("# ema.py")]
    command = block.splitlines()[0].split(": ", 1)[1]
    assert command.startswith("gan-harness run --plugin ema.py")
    (tmp_path / "ema.py").write_text(block)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness.plugins, "LOADED", [])
    argv = command.split()[1:] + ["--steps", "10", "--set", "eval_every=0", "--set", "n_eval=300",
                                  "--set", "n_w1=100", "--set", "noise_banks=0", "--set", "g_hidden=16",
                                  "--set", "d_hidden=16", "--out", "runs", "--no-report", "--quiet"]
    assert cli.main(argv) == 0
    spec = json.loads((tmp_path / "runs/vanilla/ring8/seed-2/spec.json").read_text())
    assert spec["config"]["hooks"] == "ema:decay=0.999"
    assert "G_eval" in torch.load(tmp_path / "runs/vanilla/ring8/seed-2/checkpoint.pt", weights_only=True)


class Plain(Hook):
    """A hook without a batched form."""


@pytest.mark.parametrize("sets,message", [
    (["hooks=nope"], "unknown hook 'nope'"),
    (["hooks=spy:colour=red"], "hooks: spy has no parameter 'colour' (its parameters: tag)"),
    (["hooks=spy+spy"], "spy is named twice"),
    (["hooks=spy:tag"], "expected key=value"),
    (["hooks=plain", "vectorize=true"], "hook 'plain' is not marked batched"),
])
def test_bad_hooks_are_refused_in_one_line_before_any_work(tmp_path, capsys, spy, sets, message):
    HOOKS.register("plain", Plain, replace=True)
    argv = ["run", "--variants", "vanilla", "--datasets", "ring8", "--seeds", "0", "--steps", "2",
            "--out", str(tmp_path / "runs"), "--no-report", "--quiet"]
    for s in sets:
        argv += ["--set", s]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the suite's header line, if any
    assert err.startswith("gan-harness: error:") and message in err, err
    assert not (tmp_path / "runs").exists()


def test_hook_parameters_take_their_declared_types():
    HOOKS.register("typed", type("Typed", (Hook,), {"params": {"n": 3, "x": 0.5, "on": False, "s": "a"}}),
                   replace=True)
    assert parse_hooks("typed") == [("typed", {"n": 3, "x": 0.5, "on": False, "s": "a"})]
    assert parse_hooks("typed:n=7,x=1e-3,on=true,s=b") == [("typed", {"n": 7, "x": 1e-3, "on": True, "s": "b"})]
    for bad, msg in (("typed:n=1.5", "expected an integer"), ("typed:x=abc", "expected a number"),
                     ("typed:on=maybe", "expected true or false")):
        with pytest.raises(harness.HarnessError, match=msg):
            parse_hooks(bad)
    assert not math.isnan(parse_hooks("typed:x=2")[0][1]["x"])


def test_a_vectorised_group_with_a_hook_resumes_to_its_uninterrupted_separate_runs(tmp_path, float64, monkeypatch):
    """The stacked hook's generator is stacked back from the members' restored ones on resume."""
    _ema_module(tmp_path)
    over = {**TINY, "steps": 20, "eval_every": 5, "checkpoint_every": 10, "hooks": "ema:decay=0.7"}
    specs = [resolve_run("vanilla", "ring8", s, over) for s in (0, 1)]
    with interrupted_at(monkeypatch, 13):
        train_group(specs, [tmp_path / "vec" / str(s.seed) for s in specs])
    out = train_group(specs, [tmp_path / "vec" / str(s.seed) for s in specs])
    assert [o["resumed_at"] for o in out] == [[10], [10]]
    for s in specs:
        train(s, tmp_path / "whole" / str(s.seed))
        wa = torch.load(tmp_path / "vec" / str(s.seed) / "checkpoint.pt", weights_only=True)["G_eval"]
        wb = torch.load(tmp_path / "whole" / str(s.seed) / "checkpoint.pt", weights_only=True)["G_eval"]
        for k in wb:
            torch.testing.assert_close(wa[k], wb[k], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(np.load(tmp_path / "vec" / str(s.seed) / "samples.npy"),
                                   np.load(tmp_path / "whole" / str(s.seed) / "samples.npy"), rtol=1e-9, atol=1e-9)
