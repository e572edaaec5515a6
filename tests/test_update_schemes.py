"""Extragradient and optimistic updates on real trainings (their closed forms on the Dirac-GAN are in
tests/test_dirac_gan.py): Optimistic Adam's step against its formula, Extra-Adam's two moment updates
per G step, seed-stacked members equal to their separate runs, resume bit for bit, and the real
batches a G step draws counted (a fixed training set resumes at the right batch)."""
from types import SimpleNamespace

import pytest
import torch

from harness.parts import LOSSES, LossPair
from harness.trainer import _State, real_batches_per_step, resolve_run, train
from harness.vectorize import train_group

from test_resume import assert_same_result, interrupted_at
from test_vectorize import _same_run, float64  # noqa: F401  (a fixture)

TINY = {"steps": 12, "batch_size": 32, "log_every": 4, "eval_every": 6, "n_eval": 300, "n_w1": 100,
        "g_hidden": 16, "d_hidden": 16, "g_layers": 2, "d_layers": 2, "noise_banks": 2}


def test_optimistic_adam_steps_by_twice_its_step_minus_the_previous_one():
    """Daskalakis et al. 2018: w_(t+1) = w_t + 2 delta_t - delta_(t-1), delta_t Adam's own step from g_t
    (the first step plain). A twin Adam given the same gradients supplies the deltas."""
    p = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))
    twin = torch.nn.Parameter(p.detach().clone())
    opt, ref = torch.optim.Adam([p], lr=0.1, betas=(0.5, 0.9)), torch.optim.Adam([twin], lr=0.1, betas=(0.5, 0.9))
    state = SimpleNamespace(cfg=SimpleNamespace(update="optimistic"))
    grads = [torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.3, 0.1, -4.0]), torch.tensor([-1.0, 1.0, 1.0])]
    want, prev = p.detach().clone(), None
    for g in grads:
        before = twin.detach().clone()
        twin.grad, p.grad = g.clone(), g.clone()
        ref.step()
        delta = twin.detach() - before
        want = want + (delta if prev is None else 2 * delta - prev)
        prev = delta
        _State.step_optimizer(state, opt)
        torch.testing.assert_close(p.detach(), want, rtol=0, atol=1e-7)
    assert torch.equal(opt.state[p]["optimistic_prev"], prev)


def test_extragradient_updates_the_adam_moments_twice_per_g_step_and_draws_two_batches():
    spec = resolve_run("wgan-gp", "ring8", 0, {**TINY, "update": "extragradient", "n_dis": 3, "train_size": 256})
    assert real_batches_per_step(spec.config) == 4  # 2 D-only steps, then extrapolation and update
    from harness.trainer import setup

    run = setup(spec, torch.device("cpu"))
    state = run.state
    for state.step in range(1, 4):
        state.iteration(False)
    assert state.batches == 3 * 4
    g_step = {int(s["step"]) for s in state.opt_g.state.values()}
    d_step = {int(s["step"]) for s in state.opt_d.state.values()}
    assert g_step == {3 * 2} and d_step == {3 * (2 + 2)}  # Extra-Adam: both half-steps count


def test_real_batches_per_step_counts_a_g_loss_that_sees_real_data():
    LOSSES.register("sees-real", LossPair(lambda r, f: (f - r).mean(), lambda f, r: (r - f).mean(), "test",
                                          g_sees_real=True), replace=True)
    alt = resolve_run("vanilla", "ring8", 0, {"loss": "sees-real", "n_dis": 2})
    sim = resolve_run("vanilla", "ring8", 0, {"loss": "sees-real", "n_dis": 2, "update": "simultaneous"})
    assert real_batches_per_step(alt.config) == 3 and real_batches_per_step(sim.config) == 2


@pytest.mark.parametrize("over", [{"update": "optimistic"}, {"update": "extragradient", "train_size": 256},
                                  {"loss": "sees-real", "train_size": 256},
                                  {"update": "unrolled", "unrolled_steps": 2, "train_size": 256}])
def test_runs_with_these_updates_resume_bit_for_bit(tmp_path, monkeypatch, over):
    """Optimistic's previous steps live in the optimisers' states; extragradient, unrolling and a G
    loss that sees real data draw extra real batches, which a fixed training set's position must count."""
    LOSSES.register("sees-real", LossPair(lambda r, f: (f - r).mean(), lambda f, r: (r - f).mean(), "test",
                                          g_sees_real=True), replace=True)
    spec = resolve_run("wgan-gp", "ring8", 0, {**TINY, "steps": 20, "eval_every": 5, "checkpoint_every": 10, **over})
    with interrupted_at(monkeypatch, 13):
        train(spec, tmp_path / "cut")
    assert train(spec, tmp_path / "cut")["resumed_at"] == [10]
    train(spec, tmp_path / "whole")
    assert_same_result(tmp_path / "whole", tmp_path / "cut")


@pytest.mark.parametrize("update", ["extragradient", "optimistic"])
def test_seed_stacked_members_equal_their_separate_runs(tmp_path, float64, update):
    specs = [resolve_run("wgan-gp", "ring8", s, {**TINY, "update": update, "n_dis": 2}) for s in (0, 1)]
    out = train_group(specs, [tmp_path / "vec" / str(s.seed) for s in specs])
    assert [o["status"] for o in out] == ["completed", "completed"]
    for s in specs:
        train(s, tmp_path / "sep" / str(s.seed))
        _same_run(tmp_path / "vec" / str(s.seed), tmp_path / "sep" / str(s.seed))


def test_the_new_updates_change_the_trajectory_and_record_their_name():
    plain = resolve_run("wgan-gp", "ring8", 0, {**TINY, "update": "simultaneous"})
    runs = {u: train(resolve_run("wgan-gp", "ring8", 0, {**TINY, "update": u}))
            for u in ("extragradient", "optimistic")}
    base = train(plain)
    for u, sm in runs.items():
        assert sm["status"] == "completed" and sm["metrics"]["w1"] != base["metrics"]["w1"], u
    assert resolve_run("wgan-gp", "ring8", 0, {"update": "optimistic"}).to_dict()["config"]["update"] == "optimistic"


# ----------------------------------------------------------------------------- unrolled GAN
@pytest.mark.parametrize("variant,over", [("vanilla", {}), ("wgan", {}), ("wgan-gp", {}), ("sngan", {}),
                                          ("vanilla", {"optimizer": "sgd", "lr_d": 0.05}),
                                          ("vanilla", {"instance_noise": 0.1})])
def test_unrolled_d_equals_k_real_optimiser_steps(float64, variant, over):
    """The unrolled copy (harness.unroll, differentiable steps written out) lands where k real steps of
    D's own optimiser (its moments and step count, clipping, the penalty, instance noise) land on the
    same batches; D itself is untouched. WGAN: RMSprop and clipping; SN-GAN: spectral norm held."""
    import copy

    from harness.trainer import setup
    from harness.unroll import unrolled_discriminator

    spec = resolve_run(variant, "ring8", 0, {**TINY, "update": "unrolled", "unrolled_steps": 3, **over})
    state = setup(spec, torch.device("cpu")).state
    for state.step in range(1, 3):  # the optimiser has moments and a step count
        state.iteration(False)
    before = {k: v.clone() for k, v in state.D.state_dict().items()}
    rng = state.streams.get_state()
    opt_before = copy.deepcopy(state.opt_d.state_dict())
    state.D.eval()
    got = unrolled_discriminator(state).params
    assert all(torch.equal(before[k], v) for k, v in state.D.state_dict().items())  # D untouched
    state.streams.set_state(rng)
    for _ in range(3):  # the same steps, taken for real
        x, z = state.real(), state.noise()
        with torch.no_grad():
            fake = state.generate_fake(z)
        _, _, total = state.d_objective(state.d_in(x), state.d_in(fake))
        state.opt_d.zero_grad(set_to_none=True)
        total.backward()
        state.opt_d.step()
        state.after_d_step()
    for name, p in state.D.named_parameters():
        torch.testing.assert_close(got[name].detach(), p.detach(), rtol=1e-10, atol=1e-12)
    assert opt_before["state"].keys() == state.opt_d.state_dict()["state"].keys()


def test_an_unrolled_g_step_counts_its_batches():
    spec = resolve_run("vanilla", "ring8", 0, {"update": "unrolled", "unrolled_steps": 2})
    assert real_batches_per_step(spec.config) == 3


@pytest.mark.parametrize("variant", ["wgan-gp", "sngan"])
def test_unrolled_seed_stacked_members_equal_their_separate_runs(tmp_path, float64, variant):
    specs = [resolve_run(variant, "ring8", s, {**TINY, "update": "unrolled", "unrolled_steps": 2}) for s in (0, 1)]
    out = train_group(specs, [tmp_path / "vec" / str(s.seed) for s in specs])
    assert [o["status"] for o in out] == ["completed", "completed"]
    for s in specs:
        train(s, tmp_path / "sep" / str(s.seed))
        _same_run(tmp_path / "vec" / str(s.seed), tmp_path / "sep" / str(s.seed))


@pytest.mark.parametrize("over,message", [
    ({"update": "unrolled", "pack": 2}, "update=unrolled: pack > 1 is not unrolled"),
    ({"update": "unrolled", "unrolled_steps": 0}, "unrolled_steps=0: must be > 0"),
])
def test_bad_unrolled_configs_are_refused(over, message):
    import harness

    with pytest.raises(harness.HarnessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_run("vanilla", "ring8", 0, over)
