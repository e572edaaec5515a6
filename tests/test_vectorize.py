"""Seed-vectorised training (harness.vectorize): member k is the separate run of seed k."""
import json

import numpy as np
import pytest
import torch

from harness import cli
from harness.rng import default_dtype
from harness.runs import load_evaluations, load_history, read_json
from harness.suite import run_specs
from harness.trainer import resolve_run, train
from harness.vectorize import _StackedState, train_group

SMALL = {"steps": 12, "batch_size": 32, "log_every": 4, "eval_every": 6, "n_eval": 200, "n_w1": 100,
         "noise_banks": 2, "g_hidden": 16, "d_hidden": 16, "g_layers": 2, "d_layers": 2}


@pytest.fixture
def float64():
    with default_dtype(torch.float64):
        yield


def _same_run(a, b, tol=1e-10, spec_equal=True):
    """Two run directories hold the same run, to float tolerance."""
    for load in (load_history, load_evaluations):
        x, y = load(a).drop(columns=["wall_time_s"]), load(b).drop(columns=["wall_time_s"])
        assert list(x.columns) == list(y.columns)
        assert len(x) == len(y) > 0
        num = x.select_dtypes("number").columns
        assert len(num) > 3 and list(num) == list(y.select_dtypes("number").columns)
        np.testing.assert_allclose(x[num].to_numpy(float), y[num].to_numpy(float), rtol=tol, atol=tol)
    sa, sb = read_json(a / "summary.json"), read_json(b / "summary.json")
    for key in ("status", "step", "reason", "metrics_step", "g_steps", "d_steps", "fingerprint", "protocol"):
        assert sa[key] == sb[key], key
    np.testing.assert_allclose([sa["metrics"][m] for m in sorted(sa["metrics"])],
                               [sb["metrics"][m] for m in sorted(sb["metrics"])], rtol=tol, atol=tol)
    assert sa["eval_noise"]["sd"] == pytest.approx(sb["eval_noise"]["sd"], rel=1e-6, nan_ok=True)
    np.testing.assert_allclose(np.load(a / "samples.npy"), np.load(b / "samples.npy"), rtol=1e-6, atol=1e-6)
    za, zb = np.load(a / "snapshots.npz"), np.load(b / "snapshots.npz")
    assert sorted(za.files) == sorted(zb.files)
    for k in za.files:
        np.testing.assert_allclose(za[k], zb[k], rtol=1e-6, atol=1e-6)
    ca = torch.load(a / "checkpoint.pt", weights_only=True)
    cb = torch.load(b / "checkpoint.pt", weights_only=True)
    assert ca["step"] == cb["step"]
    for net in ("G", "D"):
        assert ca[net].keys() == cb[net].keys()
        for k in ca[net]:
            torch.testing.assert_close(ca[net][k], cb[net][k], rtol=tol, atol=tol)
    if spec_equal:
        assert read_json(a / "spec.json") == read_json(b / "spec.json")


@pytest.mark.parametrize("variant,extra,setting", [
    ("vanilla", {}, "2d"),
    ("wgan", {}, "authors"),  # weight clipping, RMSprop, n_dis 5
    ("wgan-gp", {}, "2d"),  # per-member interpolates from each seed's penalty stream
    ("sngan", {"lr_schedule": "linear"}, "2d"),  # a power-iteration u per member
    ("vanilla", {"update": "simultaneous", "n_dis": 2}, "2d"),
    ("vanilla", {"instance_noise": 0.3}, "2d"),  # each member's noise from its own penalty stream
    ("wgan-gp", {"update": "consensus", "consensus_weight": 0.5}, "2d"),  # double backprop, penalty included
])
def test_each_member_is_its_separate_run(tmp_path, float64, variant, extra, setting):
    specs = [resolve_run(variant, "ring8", seed, {**SMALL, **extra}, setting=setting) for seed in (0, 3)]
    if setting == "authors" and variant == "wgan":
        assert specs[0].config.n_dis == 5 and specs[0].config.constraint == "clip"
    summaries = train_group(specs, [tmp_path / "vec" / str(s.seed) for s in specs])
    assert [s["status"] for s in summaries] == ["completed", "completed"]
    for spec in specs:
        train(spec, tmp_path / "sep" / str(spec.seed))
        _same_run(tmp_path / "vec" / str(spec.seed), tmp_path / "sep" / str(spec.seed))
    assert read_json(tmp_path / "vec" / "0" / "manifest.json")["vectorized"] == {"members": 2, "seeds": [0, 3]}
    # the members differ from each other: nothing is shared but the config
    assert not np.allclose(np.load(tmp_path / "vec" / "0" / "samples.npy"), np.load(tmp_path / "vec" / "3" / "samples.npy"))


def test_a_diverging_member_is_recorded_and_the_others_go_on(tmp_path, float64, monkeypatch):
    iteration = _StackedState.iteration

    def poisoned(self, probe):
        iteration(self, probe)
        if self.step == 5:  # member 1's D goes bad after step 5: its step-6 losses are NaN
            with torch.no_grad():
                self.D.layers[0].weight[1].fill_(float("nan"))

    monkeypatch.setattr(_StackedState, "iteration", poisoned)
    specs = [resolve_run("wgan-gp", "ring8", seed, SMALL, setting="2d") for seed in (0, 1, 2)]
    summaries = train_group(specs, [tmp_path / "vec" / str(s.seed) for s in specs])
    assert [s["status"] for s in summaries] == ["completed", "diverged", "completed"]
    assert summaries[1]["step"] == 6 and summaries[1]["reason"] == "loss_d is nan"
    assert read_json(tmp_path / "vec" / "1" / "status.json")["status"] == "diverged"
    assert summaries[1]["metrics_step"] is None  # its first evaluation (step 6) came after the bad step
    assert len(load_history(tmp_path / "vec" / "1")) == 1  # step 4 only
    monkeypatch.setattr(_StackedState, "iteration", iteration)
    train(specs[2], tmp_path / "sep")
    _same_run(tmp_path / "vec" / "2", tmp_path / "sep")


def test_vectorize_changes_no_fingerprint_nor_config_record():
    a = resolve_run("sngan", "ring8", 0, SMALL)
    b = resolve_run("sngan", "ring8", 0, {**SMALL, "vectorize": True})
    assert b.config.vectorize and not a.config.vectorize
    assert a.fingerprint() == b.fingerprint()
    assert a.to_dict()["config"] == b.to_dict()["config"] and "vectorize" not in a.to_dict()["config"]
    assert b.to_dict()["execution"]["vectorize"] is True


def test_suite_groups_seeds_and_each_member_writes_its_own_run(tmp_path):
    specs = [resolve_run(v, "ring8", s, {**SMALL, "steps": 4, "vectorize": True}) for v in ("vanilla", "sngan")
             for s in (0, 1)]
    results = run_specs(specs, tmp_path, jobs=1, progress=False, references=False)
    assert [r["status"] for r in results] == ["completed"] * 4
    for v in ("vanilla", "sngan"):
        man = read_json(tmp_path / v / "ring8" / "seed-1" / "manifest.json")
        assert man["vectorized"] == {"members": 2, "seeds": [0, 1]}
        assert (tmp_path / v / "ring8" / "seed-1" / ".lock").exists()
    again = run_specs(specs, tmp_path, jobs=1, progress=False, references=False)
    assert [r["status"] for r in again] == ["skipped (finished)"] * 4


@pytest.mark.parametrize("sets,message", [
    (["arch=dcgan"], "only the 2-D/vector MLP networks are vectorised"),
    (["pack=2"], "pack > 1 or train_size > 0"),
    (["optimizer=nope"], "optimizer"),
])
def test_what_vectorize_cannot_honour_is_one_line_exit_2(tmp_path, capsys, sets, message):
    argv = ["run", "--variants", "vanilla", "--datasets", "ring8", "--seeds", "0,1", "--steps", "3", "--vectorize",
            "--out", str(tmp_path / "runs"), "--no-report", "--quiet"]
    for s in sets:
        argv += ["--set", s]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("gan-harness: error:") and message in err
    assert not (tmp_path / "runs").exists()


def test_resume_checkpoints_pass_between_vectorised_and_separate_runs(tmp_path, float64, monkeypatch):
    """A resume checkpoint has one format: a separate run's resumes in a vectorised group (beside a
    member starting afresh: two stacks) and a vectorised member's resumes as a separate run, each
    ending where its uninterrupted separate run does (float tolerance: the kernels differ)."""
    from harness import trainer

    over = {**SMALL, "steps": 20, "checkpoint_every": 10, "eval_every": 5}
    specs = [resolve_run("sngan", "ring8", seed, over, setting="2d") for seed in (0, 1)]
    original = trainer._State.check_finite

    def stop(self):  # _StackedState inherits it: interrupts a separate run and a group alike
        if self.step == 13:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(trainer._State, "check_finite", stop)
    with pytest.raises(KeyboardInterrupt):
        train(specs[0], tmp_path / "vec" / "0")  # separate, killed after its checkpoint at 10
    with pytest.raises(KeyboardInterrupt):
        train_group(specs, [tmp_path / "sep" / "0", tmp_path / "sep" / "1"])  # vectorised, likewise
    monkeypatch.setattr(trainer._State, "check_finite", original)
    for d in ("vec/0", "sep/0", "sep/1"):
        assert torch.load(tmp_path / d / "resume.pt", weights_only=True)["step"] == 10
    out = train_group(specs, [tmp_path / "vec" / "0", tmp_path / "vec" / "1"])
    assert [s["status"] for s in out] == ["completed", "completed"]
    assert out[0]["resumed_at"] == [10] and "resumed_at" not in out[1]
    for seed in (0, 1):
        assert train(specs[seed], tmp_path / "sep" / str(seed))["resumed_at"] == [10]
    plain = [resolve_run("sngan", "ring8", seed, {**over, "checkpoint_every": 0}, setting="2d") for seed in (0, 1)]
    for seed in (0, 1):
        train(plain[seed], tmp_path / "whole" / str(seed))
        for d in ("vec", "sep"):
            _same_run(tmp_path / d / str(seed), tmp_path / "whole" / str(seed), spec_equal=False)


def test_a_members_training_time_leaves_out_the_other_members_evaluations(tmp_path, monkeypatch):
    """train_time_s of a vectorised member is the group's training time: every member's
    evaluations (here made to take 1 s each) are taken out, not only its own.

    The harness's clock is a virtual one that moves only by the 1 s of each evaluation, so the
    training itself takes 0 s and the check does not depend on the machine's speed or load."""
    import time

    from harness.trainer import _Run

    generate = _Run.generate
    clock = [1000.0]

    def slow(self, z):  # inside _Run.evaluate's timing
        clock[0] += 1.0
        return generate(self, z)

    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(_Run, "generate", slow)
    over = {**SMALL, "steps": 4, "eval_every": 2, "log_every": 4, "noise_banks": 0}
    specs = [resolve_run("vanilla", "ring8", seed, over) for seed in (0, 1)]
    out = train_group(specs, [tmp_path / str(s.seed) for s in specs])
    for sm in out:
        assert sm["eval_time_s"] == 2.0  # its own two evaluations (steps 2 and 4)
        assert sm["train_time_s"] < 0.5, sm["train_time_s"]  # none of the other member's evaluations (>= 1 s)
    # member 0 finishes after its own final evaluation, member 1 after both
    assert out[0]["wall_time_s"] >= 3.0 and out[1]["wall_time_s"] >= 4.0


def test_groups_are_scheduled_longest_first():
    from pathlib import Path

    from harness.suite import PlannedRun, _vector_groups

    def task(variant, seed, steps, setting="2d"):
        spec = resolve_run(variant, "ring8", seed, {**SMALL, "steps": steps, "vectorize": True}, setting=setting)
        return PlannedRun(spec, Path(spec.run_id), False), False

    tasks = [task("vanilla", s, 10) for s in (0, 1)] + [task("sngan", s, 40) for s in (0, 1)] \
        + [task("wgan", s, 10, "authors") for s in (0, 1)] + [task("vanilla", 5, 500)]  # a group of one
    order = [(g[0][0].spec.variant, g[0][0].spec.config.steps, len(g)) for g in _vector_groups(tasks)]
    # costs: 1 x 500 x 2 = 1000, 2 x 10 x (5 + 1) = 120 (n_dis 5), 2 x 40 x 2 = 160, 2 x 10 x 2 = 40
    assert order == [("vanilla", 500, 1), ("sngan", 40, 2), ("wgan", 10, 2), ("vanilla", 10, 2)]


def test_fewer_groups_than_workers_are_split_so_every_worker_trains_a_batch():
    from pathlib import Path

    from harness.suite import PlannedRun, _split_groups, _vector_groups

    def tasks(variant, seeds, steps=10):
        out = []
        for s in seeds:
            spec = resolve_run(variant, "ring8", s, {**SMALL, "steps": steps, "vectorize": True})
            out.append((PlannedRun(spec, Path(spec.run_id), False), False))
        return out

    def sizes(groups):
        return [len(g) for g in groups]

    eight = _vector_groups(tasks("vanilla", range(8)))
    assert sizes(_split_groups(eight, 1)) == [8]
    assert sizes(_split_groups(eight, 2)) == [4, 4]
    assert sizes(_split_groups(eight, 3)) == [4, 2, 2]
    assert sorted(t[0].spec.seed for g in _split_groups(eight, 3) for t in g) == list(range(8))  # none lost
    assert sizes(_split_groups(_vector_groups(tasks("vanilla", [0])), 4)) == [1]
    # as many groups as workers already: nothing is split
    two = _vector_groups(tasks("vanilla", range(3)) + tasks("sngan", range(3), steps=40))
    assert sizes(_split_groups(two, 2)) == [3, 3]


def test_a_members_numbers_do_not_depend_on_the_other_members_of_its_group(tmp_path, float64):
    """What makes splitting a group safe: member 0 trained with 1 other member or with 3 others
    gives the same history and metrics (float64; on the AVX2 machine these tests were written on
    they are also bit-identical in float32)."""
    over = {**SMALL, "vectorize": True}
    specs = [resolve_run("wgan-gp", "ring8", s, over, setting="2d") for s in range(4)]
    train_group(specs[:2], [tmp_path / "a0", tmp_path / "a1"])
    train_group(specs, [tmp_path / f"b{i}" for i in range(4)])
    _same_run(tmp_path / "a0", tmp_path / "b0", tol=1e-12)
    _same_run(tmp_path / "a1", tmp_path / "b1", tol=1e-12)


def test_a_lone_group_on_two_workers_runs_as_two_tasks(tmp_path, monkeypatch):
    import harness.suite as suite

    seen = []
    real = suite._tasks

    def spy(tasks, jobs):
        out = real(tasks, jobs)
        seen.append(sorted(len(t.specs) for t in out if t.vectorized))
        return out

    monkeypatch.setattr(suite, "_tasks", spy)
    specs = [resolve_run("vanilla", "ring8", s, {**SMALL, "steps": 4, "vectorize": True}) for s in range(4)]
    results = run_specs(specs, tmp_path, jobs=2, progress=False, references=False)
    assert seen == [[2, 2]] and {r["status"] for r in results} == {"completed"}


def test_one_task_list_holds_groups_single_runs_and_reference_rows_longest_first():
    """Issue 19: a single run and a vectorised group are one task type (harness.worker.Task),
    executed alike by the pool, the main process and Ray, in one list ordered by cost."""
    from pathlib import Path

    from harness.suite import PlannedRun, _tasks

    def planned(variant, seed, over, reference=False):
        spec = resolve_run(variant, "ring8", seed, {**SMALL, **over})
        return PlannedRun(spec, Path(spec.run_id), False), reference

    tasks = [planned("vanilla", s, {"steps": 10, "vectorize": True}) for s in (0, 1, 2)] \
        + [planned("wgan", 0, {"steps": 40})] + [planned("vanilla", 9, {"steps": 10}, reference=True)]
    out = _tasks(tasks, 2)
    assert [(t.vectorized, len(t.specs), t.cost) for t in out] == [
        (False, 1, 40 * (5 + 1)), (True, 2, 2 * 10 * 2), (True, 1, 10 * 2), (False, 1, 0)]
    assert out[-1].specs[0]["reference"] is True and sum(len(t.specs) for t in out) == 5
    assert out[0].run_ids() == ["wgan/ring8/seed-0"]


# ----------------------------------------------------------------------------- every part both ways
def _members(k=3, constraint="none"):
    """K float64 MLP discriminators as trainer.setup builds them (a constraint's on_build applied)."""
    from harness.nets.mlp import MLPDiscriminator
    from harness.parts import CONSTRAINTS

    out = []
    for i in range(k):
        torch.manual_seed(10 + i)
        out.append(CONSTRAINTS.get(constraint).on_build(MLPDiscriminator(2, 8, 2).double()))
    return out


def _batch(k=3, b=6, scale=1.0):
    g = torch.Generator().manual_seed(7)
    return scale * torch.randn(k, b, 2, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(__import__("harness").parts.PENALTIES.names()))
def test_every_registered_penalty_gives_each_stacked_member_its_separate_value_and_gradient(name):
    """Issue 19: a part is written once. Each registered penalty that says it runs batched gives,
    for 3 stacked members with one generator each, the value and D-gradient of each member's
    separate call (float64); a penalty that does not say so is refused by --vectorize."""
    from harness.parts import PENALTIES
    from harness.parts.penalties import Draws
    from harness.vectorize import StackedMLP, check_specs

    pen = PENALTIES.get(name)
    if not getattr(pen, "batched", False):
        spec = resolve_run("vanilla", "ring8", 0, {**SMALL, "penalty": name, "vectorize": True})
        with pytest.raises(Exception, match=f"penalty {name!r} is not marked batched"):
            check_specs([spec])
        return
    members, real, fake = _members(), _batch(), _batch(scale=3.0).flip(1)
    stacked = StackedMLP(members).double()
    got = pen(stacked, real, fake, Draws([torch.Generator().manual_seed(s) for s in (1, 2, 3)]))
    if got is None:
        assert all(pen(m, real[k], fake[k], torch.Generator()) is None for k, m in enumerate(members))
        return
    assert got.shape == (3,)
    got.sum().backward()
    for k, m in enumerate(members):
        want = pen(m, real[k], fake[k], torch.Generator().manual_seed(k + 1))
        assert got[k].item() == pytest.approx(want.item(), rel=1e-12, abs=1e-14), (name, k)
        want.backward()
        for name_, p in zip(stacked.member_param_names(), stacked.parameters()):
            own = dict(m.named_parameters())[name_].grad  # None for the last bias: no input gradient uses it
            assert (p.grad is None) == (own is None), name_
            if own is not None:
                torch.testing.assert_close(p.grad[k], own, rtol=1e-10, atol=1e-12)


def test_an_unmarked_plugin_penalty_is_refused_by_vectorize_in_one_line(tmp_path, capsys):
    from harness.parts import PENALTIES

    PENALTIES.register("test-unbatched", lambda d, real, fake, gen: None, replace=True)
    argv = ["run", "--variants", "vanilla", "--datasets", "ring8", "--seeds", "0,1", "--steps", "3", "--vectorize",
            "--set", "penalty=test-unbatched", "--out", str(tmp_path / "runs"), "--no-report", "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "penalty 'test-unbatched' is not marked batched" in err and "@batched" in err


@pytest.mark.parametrize("name", sorted(__import__("harness").parts.CONSTRAINTS.names()))
def test_every_registered_constraint_acts_on_each_stacked_member_as_on_its_separate_d(name):
    """Clipping on the stacked parameters clips each member's; spectral norm's stacked form (declared
    beside it in harness.parts.constraints) gives each member's output over training-mode forwards,
    its power iteration included."""
    from harness.parts import CONSTRAINTS
    from harness.vectorize import StackedMLP

    cons = CONSTRAINTS.get(name)
    assert cons.batched, name  # every built-in constraint runs batched
    members = _members(constraint=name)
    with torch.no_grad():
        for m in members:
            for p in m.parameters():
                p.mul_(4.0)  # weights outside clipping's box and far from spectral norm 1
    stacked = StackedMLP(members).double()
    x = _batch()
    for _ in range(3):  # each training forward runs one power iteration per member
        out = stacked(x)
        for k, m in enumerate(members):
            torch.testing.assert_close(out[k], m(x[k]), rtol=1e-10, atol=1e-12)
    cons.after_step(stacked, 0.05)
    for m in members:
        cons.after_step(m, 0.05)
    for k, m in enumerate(members):
        own = m.state_dict()
        for key, value in stacked.member_tensors(k).items():
            torch.testing.assert_close(value, own[key], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(__import__("harness").parts.LOSSES.names()))
def test_every_registered_loss_pair_is_applied_per_member_by_vmap(name):
    from harness.parts import LOSSES

    pair = LOSSES.get(name)
    r, f = _batch()[..., 0], _batch(scale=2.0)[..., 1]
    g_args = (f, r) if pair.g_sees_real else (f,)  # a relativistic G loss also takes D(real)
    d, g = torch.func.vmap(pair.d)(r, f), torch.func.vmap(pair.g)(*g_args)
    for k in range(3):
        assert d[k].item() == pytest.approx(pair.d(r[k], f[k]).item(), rel=1e-12)
        assert g[k].item() == pytest.approx(pair.g(*(a[k] for a in g_args)).item(), rel=1e-12)


@pytest.mark.parametrize("vectorize", [False, True])
def test_a_penalty_is_told_the_g_step_and_the_runs_d_step(tmp_path, vectorize):
    """Counted steps: 2 G steps x 3 D steps give the penalty d_step 1..6 and step 1, 1, 1, 2, 2, 2,
    in a separate run and in a seed-stacked group alike."""
    from harness.parts import PENALTIES
    from harness.parts.penalties import batched

    seen = []
    PENALTIES.register("test-spy", batched(lambda d, real, fake, draws: seen.append((draws.step, draws.d_step))),
                       replace=True)
    specs = [resolve_run("vanilla", "ring8", s, {**SMALL, "steps": 2, "n_dis": 3, "penalty": "test-spy",
                                                 "eval_every": 0, "noise_banks": 0}) for s in (0, 1)]
    if vectorize:
        train_group(specs, [tmp_path / str(s.seed) for s in specs])
    else:
        train(specs[0], tmp_path / "0")
    assert seen == [(1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 6)]
