"""DCGAN-style networks: shapes, the SN-GAN standard CNN at 32x32, no batch norm in D, spectral
norm applied by the variant's constraint, and a tiny training run on stacked-digits."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from harness.errors import HarnessError
from harness.nets import NETS, build_networks, resolve_arch
from harness.nets.dcgan import side_plan
from harness.parts.constraints import spectral_norm_all
from harness.spec import make_config


def nets(shape, **cfg):
    return build_networks(make_config({"arch": "dcgan", "z_dim": 16, "g_hidden": 8, "d_hidden": 8, **cfg}), shape)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 8, 8), (3, 16, 16), (1, 28, 28), (3, 32, 32)])
def test_shapes_and_ranges(shape):
    torch.manual_seed(0)
    g, d = nets(shape)
    x = g(torch.randn(5, 16) * 10)
    assert x.shape == (5, *shape)
    assert x.min() >= -1 and x.max() <= 1  # tanh
    assert d(x).shape == (5,)


def test_side_plan():
    assert [side_plan(s) for s in (8, 16, 28, 32, 64)] == [(4, 1), (4, 2), (7, 2), (4, 3), (4, 4)]
    for bad in (4, 7, 128):
        with pytest.raises(HarnessError, match="8..64"):
            side_plan(bad)


def test_32x32_is_the_sn_gan_standard_cnn():
    g, d = build_networks(make_config({"z_dim": 128, "g_hidden": 64, "d_hidden": 64}), (3, 32, 32))
    d_convs = [(m.out_channels, m.kernel_size[0], m.stride[0]) for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert d_convs == [(64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2), (512, 3, 1)]
    assert d.fc.in_features == 4 * 4 * 512 and d.fc.out_features == 1
    assert g.fc.out_features == 4 * 4 * 512
    g_deconvs = [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert g_deconvs == [256, 128, 64]
    assert [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)] == [0.1] * 7


def test_batch_norm_in_g_and_none_in_d_for_every_variant():
    for penalty in ("none", "gp"):
        g, d = nets((3, 16, 16), penalty=penalty)
        assert any(isinstance(m, nn.BatchNorm2d) for m in g.modules())
        assert not any(isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm)) for m in d.modules())


def test_d_scores_each_sample_independently_of_its_batch():
    torch.manual_seed(1)
    _, d = nets((3, 8, 8))
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    alone = torch.cat([d(x[i:i + 1]) for i in range(6)])
    torch.testing.assert_close(d(x), alone)  # so per-sample gradient penalties are well defined


def test_spectral_norm_comes_from_the_constraint_not_the_network():
    _, d = nets((3, 16, 16))
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert not any(hasattr(m, "parametrizations") for m in layers)
    spectral_norm_all(d)
    assert all(hasattr(m, "parametrizations") and "weight" in m.parametrizations for m in layers)
    d.eval()
    for m in layers:  # sigma_max of each normalised weight, reshaped to (out, -1), is 1
        w = m.weight.reshape(m.weight.shape[0], -1)
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, rel=0.2)


def test_registered_and_chosen_automatically_for_images():
    assert "dcgan" in NETS
    cfg = make_config({})
    assert resolve_arch(cfg, (3, 8, 8)) == "dcgan" and resolve_arch(cfg, (2,)) == "mlp"
    with pytest.raises(HarnessError, match="square"):
        nets((3, 8, 16))


def test_z_dim_and_widths_come_from_the_config():
    g, d = nets((1, 16, 16), z_dim=7, g_hidden=5, d_hidden=3)
    assert g.fc.in_features == 7 and g.c0 == 5 * 4
    assert [m.out_channels for m in d.modules() if isinstance(m, nn.Conv2d)] == [3, 3, 6, 6, 12]


def test_a_tiny_run_on_stacked_digits_trains_and_reports_image_metrics(tmp_path):
    from harness.trainer import resolve_run, train

    spec = resolve_run("vanilla", "stacked-digits", 0, {"steps": 4, "batch_size": 16, "eval_every": 2, "log_every": 2,
                                                        "n_eval": 300, "g_hidden": 8, "d_hidden": 8})
    assert spec.config.z_dim == 64  # the data set's default, below the overrides
    summary = train(spec, tmp_path / "run")
    assert summary["status"] == "completed"
    m = summary["metrics"]
    for key in ("modes_covered", "reverse_kl", "fid", "fid_inf", "kid", "precision", "recall", "density", "coverage"):
        assert key in m, key
    assert 1 <= m["modes_covered"] <= 300 and m["fid"] > 0
    evals = [json.loads(line) for line in (tmp_path / "run" / "evaluations.jsonl").read_text().splitlines()]
    assert [e["step"] for e in evals] == [2, 4]
    protocol = summary["protocol"]["evaluator"]
    assert protocol["features"]["name"] == "digits-classifier" and protocol["n_reference"] == 300
