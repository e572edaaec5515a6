"""PacGAN's 2-D protocol (the pacgan suite) and its parts: the pacgan-mlp networks, packing, and a
fixed training set iterated in epochs. Known answers: a maxout layer computed by hand, parameter
counts in closed form, the slot layout of packs, counted visits per epoch, the suite's budget
arithmetic, and a linear D whose input gradient is known exactly."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import harness
from harness.cli import main
from harness.data import get_dataset
from harness.data.fixed import FixedTrainingSet
from harness.errors import HarnessError
from harness.nets import NETS, build_networks
from harness.nets.pacgan import Maxout
from harness.nets.pack import Packed, pack_samples
from harness.rng import Streams
from harness.runs import read_jsonl
from harness.spec import make_config
from harness.suite import SUITES, expand_suite

PACGAN_NETS = {"arch": "pacgan-mlp", "z_dim": 2, "g_hidden": 400, "g_layers": 4, "d_hidden": 200, "d_layers": 3}


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------- the networks
def test_maxout_with_five_pieces_against_a_hand_computation():
    m = Maxout(2, 2, pieces=5)
    w = [[1, 0], [0, 1], [1, 1], [-1, 0], [0, -1],  # unit 0: pieces 0..4
         [2, -1], [-2, 1], [0, 0], [1, -1], [3, 0]]  # unit 1: pieces 5..9
    b = [0, 0, -2.5, 0, 0, 0, 0, 0.5, 0, -4]
    with torch.no_grad():
        m.linear.weight.copy_(torch.tensor(w, dtype=torch.float32))
        m.linear.bias.copy_(torch.tensor(b, dtype=torch.float32))
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.0]])
    # x = (1, 2):  unit 0 max(1, 2, 0.5, -1, -2) = 2;  unit 1 max(0, 0, 0.5, -1, -1) = 0.5
    # x = (-1, 0): unit 0 max(-1, 0, -3.5, 1, 0) = 1;  unit 1 max(-2, 2, 0.5, -1, -7) = 2
    assert m(x).tolist() == [[2.0, 0.5], [1.0, 2.0]]


def test_pacgan_mlp_parameter_counts_in_closed_form():
    g, d = build_networks(make_config(PACGAN_NETS), (2,))
    z, h, layers, out = 2, 400, 4, 2
    # hidden linears without bias, batch norm (scale and shift) on each, last linear with bias
    assert n_params(g) == z * h + (layers - 1) * h * h + 2 * h * layers + h * out + out == 484_802
    linears = [m for m in g.modules() if isinstance(m, nn.Linear)]
    assert [m.bias is None for m in linears] == [True] * layers + [False]
    bns = [m for m in g.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(bns) == layers and all(bn.eps == 1e-4 and bn.momentum == 0.05 for bn in bns)
    k, hd = 5, 200  # D: 3 maxout layers of 200 units x 5 pieces, then a linear to one value
    assert n_params(d) == (2 * hd * k + hd * k) + 2 * (hd * hd * k + hd * k) + hd + 1 == 405_201


def test_pacgan_mlp_weights_are_normal_with_std_0_02_and_biases_zero():
    g, d = build_networks(make_config(PACGAN_NETS), (2,))
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, nn.Linear):
                if m.weight.numel() >= 10_000:  # the sample std of n draws is within a few 1/sqrt(2n)
                    assert m.weight.std().item() == pytest.approx(0.02, rel=0.03)
                    assert abs(m.weight.mean().item()) < 0.02 * 5 / math.sqrt(m.weight.numel())
                if m.bias is not None:
                    assert torch.count_nonzero(m.bias) == 0
    assert all(bool((bn.weight == 1).all() and (bn.bias == 0).all())
               for bn in g.modules() if isinstance(bn, nn.BatchNorm1d))


# ----------------------------------------------------------------------------- packing
def test_pack_concatenates_slot_major_samples_into_groups():
    x = torch.arange(12, dtype=torch.float32).view(6, 2)  # samples (0,1), (2,3), ..., (10,11)
    # m = 2, B = 3: pack i = (sample i, sample 3 + i)
    assert pack_samples(x, 2).tolist() == [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]]
    assert pack_samples(x, 3).tolist() == [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]]
    seen = []
    d = Packed(nn.Identity(), 2)
    d.inner.register_forward_hook(lambda mod, inp, out: seen.append(tuple(inp[0].shape)))
    d(torch.zeros(8, 2))
    assert seen == [(4, 4)]  # (B / m, m * 2) for 8 samples
    with pytest.raises(HarnessError, match="pack=3"):
        pack_samples(torch.zeros(8, 2), 3)


@pytest.mark.parametrize("arch", ["pacgan-mlp", "mlp"])
def test_a_packed_d_grows_only_in_its_first_layer(arch):
    cfg = {**PACGAN_NETS, "arch": arch}
    _, d1 = build_networks(make_config(cfg), (2,))
    sizes1 = {k: v.numel() for k, v in d1.named_parameters()}
    first = next(iter(sizes1))
    for m in (2, 3, 4):
        _, dm = build_networks(make_config({**cfg, "pack": m}), (2,))
        assert isinstance(dm, Packed) and dm.pack == m
        sizes = {k.removeprefix("inner."): v.numel() for k, v in dm.named_parameters()}
        assert {k: v for k, v in sizes.items() if k != first} == {k: v for k, v in sizes1.items() if k != first}
        width = sizes1[first] // 2  # the first layer's output units (x pieces): 2 inputs each when unpacked
        assert sizes[first] - sizes1[first] == (m - 1) * 2 * width


class _LinearNets:
    """G(z) = linear; D(x) = x . w with w = (3, 4, 0, ...): ||grad D|| = 5 on every D input. Records
    the shapes of D's inputs and G's batch sizes."""

    calls_d: list[tuple[int, ...]] = []
    calls_g: list[int] = []
    outputs_d: list[torch.Tensor] = []

    @classmethod
    def build(cls, config, shape):
        g = nn.Linear(config.z_dim, shape[0])
        d = nn.Linear(shape[0], 1, bias=False)
        with torch.no_grad():
            d.weight.zero_()
            d.weight[0, :2] = torch.tensor([3.0, 4.0])
        g.register_forward_hook(lambda m, inp, out: cls.calls_g.append(inp[0].shape[0]))

        def record_d(m, inp, out):
            cls.calls_d.append(tuple(inp[0].shape))
            cls.outputs_d.append(out.detach().squeeze(-1).clone())

        d.register_forward_hook(record_d)
        return g, _Squeeze(d)


class _Squeeze(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x).squeeze(-1)


@pytest.fixture
def linear_nets():
    if "test-linear-pack" not in NETS:
        NETS.register("test-linear-pack", _LinearNets.build)
    _LinearNets.calls_d.clear(), _LinearNets.calls_g.clear(), _LinearNets.outputs_d.clear()
    yield _LinearNets


TINY_PACK = {"arch": "test-linear-pack", "steps": 1, "batch_size": 8, "log_every": 1, "eval_every": 0,
             "n_eval": 200, "n_w1": 100, "noise_banks": 0, "z_dim": 2, "optimizer": "sgd", "lr_g": 1e-12,
             "lr_d": 1e-12}


def test_packed_d_sees_packs_and_the_loss_is_on_the_packs(linear_nets, tmp_path):
    spec = harness.resolve_run("vanilla", "ring8", 0, {**TINY_PACK, "pack": 2})
    harness.train(spec, tmp_path / "run")
    # D step: real and fake as 8 packs of 2 samples; G step: one more fake batch; fakes come from one
    # G forward per slot of 8 latents
    assert linear_nets.calls_d[:3] == [(8, 4)] * 3
    assert linear_nets.calls_g[:4] == [8, 8, 8, 8]
    d_real, d_fake = linear_nets.outputs_d[:2]
    loss_d = (torch.nn.functional.softplus(-d_real).mean() + torch.nn.functional.softplus(d_fake).mean()).item()
    rec = read_jsonl(tmp_path / "run" / "history.jsonl")[0]
    assert rec["loss_d"] == pytest.approx(loss_d, rel=1e-6)


def test_penalty_and_input_gradient_probes_are_per_pack(linear_nets, tmp_path):
    # per pack, grad D = w = (3, 4, 0, 0): norm 5 and GP (5 - 1)^2 = 16. Per sample it would be
    # (3, 4) for slot 0 and (0, 0) for slot 1: mean norm 2.5, GP (16 + 1) / 2 = 8.5.
    spec = harness.resolve_run("vanilla", "ring8", 0, {**TINY_PACK, "pack": 2, "penalty": "gp"})
    harness.train(spec, tmp_path / "run")
    rec = read_jsonl(tmp_path / "run" / "history.jsonl")[0]
    assert rec["penalty"] == pytest.approx(16.0, rel=1e-6)
    for name in ("real", "fake", "interp"):
        assert rec[f"input_grad_{name}"] == pytest.approx(5.0, rel=1e-6)


# ----------------------------------------------------------------------------- the fixed training set
class _Indexed:
    """A data set whose n-th draw is the point (n, -n): a point tells which draw it was."""

    name, shape = "indexed", (2,)

    def sample(self, n, gen):
        i = torch.arange(n, dtype=torch.float32)
        return torch.stack([i, -i], 1)


@pytest.mark.parametrize("pack", [1, 3])
def test_each_training_point_is_visited_once_per_epoch(pack):
    size, batch = 12, 4
    ts = FixedTrainingSet(_Indexed(), size, batch, pack, Streams(0))
    assert ts.per_epoch == 3
    partners = {}
    for epoch in range(3):
        slot0 = []
        for j in range(ts.per_epoch):
            idx = ts.indices(epoch * ts.per_epoch + j).view(pack, batch)  # slot-major
            assert torch.equal(ts.batch(epoch * ts.per_epoch + j)[:, 0], idx.reshape(-1).float())
            slot0 += idx[0].tolist()
            for col in idx.T.tolist():  # a training example keeps its packed partners across epochs
                assert partners.setdefault(col[0], col[1:]) == col[1:]
        assert sorted(slot0) == list(range(size))  # counted: every point once in the epoch
    assert not torch.equal(ts.order(0), ts.order(1))  # a fresh shuffle each epoch


def test_the_loop_iterates_the_fixed_set_in_epochs(linear_nets):
    size, batch, steps = 24, 8, 6  # 3 batches per epoch, 2 epochs
    spec = harness.resolve_run("vanilla", "ring8", 0, {**TINY_PACK, "steps": steps, "log_every": 100,
                                                       "batch_size": batch, "train_size": size})
    harness.train(spec, None)
    # the set is the run's first `size` draws from its data stream
    points = get_dataset("ring8").sample(size, Streams(0)["data"])
    w = torch.tensor([3.0, 4.0])
    expected = sorted((points @ w).tolist())
    # D calls per G step: real, fake (D step), fake (G step); the real outputs are D = x . w
    reals = [linear_nets.outputs_d[3 * s] for s in range(steps)]
    for epoch in range(2):
        seen = torch.cat(reals[3 * epoch:3 * epoch + 3]).tolist()
        assert sorted(seen) == pytest.approx(expected, abs=1e-5)


# ----------------------------------------------------------------------------- the suite
def test_pacgan_suite_budget_and_protocol():
    suite = SUITES.get("pacgan")
    o = suite.overrides
    assert o["steps"] == 400 * 100_000 // 100 == 400_000  # epochs x train_size / batch
    specs = expand_suite(suite.with_(seeds=(0,)))
    assert len(specs) == 2 * 4  # pacgan-ring, grid25 x pack 1..4
    assert sorted({s.config.pack for s in specs}) == [1, 2, 3, 4]
    assert {s.dataset for s in specs} == {"pacgan-ring", "grid25"} and len(suite.seeds) == 10
    c = specs[0].config
    assert (c.arch, c.z_dim, c.g_hidden, c.g_layers, c.d_hidden, c.d_layers) == ("pacgan-mlp", 2, 400, 4, 200, 3)
    assert (c.optimizer, c.lr_g, c.lr_d, c.beta1, c.n_dis, c.lr_schedule) == ("adam", 1e-4, 1e-4, 0.8, 1, "constant")
    assert (c.batch_size, c.train_size, c.n_eval, c.loss, c.update) == (100, 100_000, 2500, "nonsaturating",
                                                                          "simultaneous")
    assert c.steps * c.n_dis // (c.train_size // c.batch_size) == 400  # epochs


def test_new_keys_at_their_defaults_leave_config_records_and_fingerprints_alone():
    plain = make_config({})
    assert "pack" not in plain.to_dict() and "train_size" not in plain.to_dict()
    a = harness.resolve_run("vanilla", "ring8", 0, {})
    b = harness.resolve_run("vanilla", "ring8", 0, {"pack": 1, "train_size": 0})
    c = harness.resolve_run("vanilla", "ring8", 0, {"pack": 2})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert c.config.to_dict()["pack"] == 2


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("overrides, message", [
    ({"pack": 0}, "pack=0: must be > 0"),
    ({"pack": 2.5}, "pack=2.5: expected int"),
    ({"train_size": 1000, "batch_size": 64}, "train_size=1000 is not a whole number of batches"),
    ({"train_size": -1}, "train_size=-1: must be >= 0"),
])
def test_bad_packing_and_training_set_values_are_one_line_errors(overrides, message):
    with pytest.raises(HarnessError, match=message):
        harness.resolve_run("vanilla", "ring8", 0, overrides)


def test_pacgan_mlp_refuses_image_data():
    with pytest.raises(HarnessError, match="arch=pacgan-mlp needs vector data"):
        build_networks(make_config({"arch": "pacgan-mlp"}), (1, 8, 8))


def test_cli_bad_pack_exits_2(capsys):
    assert main(["run", "--suite", "pacgan", "--set", "pack=0", "--no-report"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pack=0" in err[0]
