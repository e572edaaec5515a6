"""Feature extractors: the packaged digits classifier (hash, held-out accuracy, labels of stacked
samples, determinism of the command that trains it) and the Inception-v3 path.

Tests marked ``inception`` need torch-fidelity and torchvision, which do not import beside the CPU
build torch==2.13.0 of the main environment: there they are skipped with the reason; .ci/inception.sh
runs them in a second venv (and sets GAN_HARNESS_REQUIRE_INCEPTION=1, which turns the skip into a
failure). They load a weights file written by the test from a randomly initialised network of the
same architecture: the real loading path, without the real weights.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.data import get_dataset
from harness.data.images import digits_arrays
from harness.errors import HarnessError
from harness.features import FEATURES, get_features, sha256_file
from harness.features import digits as digits_mod
from harness.features.inception import WEIGHTS_NAME, to_uint8_rgb
from harness.metrics.fid import fid


def _fidelity_problem() -> str | None:
    try:
        import torch_fidelity  # noqa: F401
        import torchvision  # noqa: F401
    except Exception as exc:  # ImportError, or torchvision's operators failing to load
        return f"{type(exc).__name__}: {exc}"
    return None


FIDELITY_PROBLEM = _fidelity_problem()
REQUIRED = os.environ.get("GAN_HARNESS_REQUIRE_INCEPTION", "") not in ("", "0")
inception = pytest.mark.inception
needs_fidelity = pytest.mark.skipif(
    FIDELITY_PROBLEM is not None and not REQUIRED,
    reason=f"torch-fidelity/torchvision not importable here ({FIDELITY_PROBLEM}); "
           "the Inception path runs in the second venv: bash .ci/inception.sh")


# ------------------------------------------------------------------------------------ digits classifier
def test_registry_names_and_did_you_mean():
    assert {"digits-classifier", "inception-v3"} <= set(FEATURES.names())
    with pytest.raises(HarnessError, match="did you mean 'inception-v3'"):
        get_features("inception-v")


def test_packaged_weights_have_the_recorded_sha256():
    assert digits_mod.WEIGHTS_FILE.is_file()
    assert sha256_file(digits_mod.WEIGHTS_FILE) == digits_mod.WEIGHTS_SHA256
    ext = get_features("digits-classifier")
    assert ext.weights_sha256() == digits_mod.WEIGHTS_SHA256
    assert ext.describe()["weights_sha256"] == digits_mod.WEIGHTS_SHA256


def test_held_out_accuracy_is_at_least_97_percent_and_as_documented():
    from harness.features.train_digits import evaluate

    net = get_features("digits-classifier").net
    acc = evaluate(net)
    assert acc == pytest.approx(digits_mod.ACCURACY, abs=1e-12)
    assert min(acc.values()) >= 0.97


def stacked_test_digits(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    a = digits_arrays()
    idx = np.random.default_rng(seed).integers(0, len(a["x_test"]), size=(n, 3))
    x = torch.from_numpy(a["x_test"][idx.ravel(), 0].reshape(n, 3, 8, 8))
    return x, a["y_test"][idx]


def test_labels_each_channel_of_held_out_stacked_digits():
    ext = get_features("digits-classifier")
    x, y = stacked_test_digits(600, 0)
    labels = ext.labels(x)
    assert labels.shape == (600, 3)
    assert (labels == y).mean() >= 0.97
    assert (labels == y).all(axis=1).mean() >= 0.9  # the whole mode (triple) right
    f, lab2 = ext.features_and_labels(x)
    np.testing.assert_array_equal(lab2, labels)
    np.testing.assert_array_equal(f, ext.features(x))


def test_features_are_64_per_channel_and_independent_of_batch_size():
    ext = get_features("digits-classifier")
    x, _ = stacked_test_digits(50, 1)
    f = ext.features(x)
    assert f.shape == (50, 192) and ext.dim(3) == 192 and ext.dim(1) == 64 and f.dtype == np.float64
    # bit-identical by construction (fixed chunks, channel after channel), on any CPU: a prefix of the
    # images, a single channel, or the images split by the caller in any way get the same features
    for k in (1, 7, 49):
        np.testing.assert_array_equal(f[:k], ext.features(x[:k]))
    np.testing.assert_array_equal(f[:, :64], ext.features(x[:, :1]))  # channel 0 alone
    np.testing.assert_array_equal(f[:, 128:], ext.features(x[:, 2:]))  # channel 2 alone
    # any image size: area-resized to 8 x 8 first
    up = torch.nn.functional.interpolate(x, scale_factor=4, mode="nearest")
    np.testing.assert_allclose(ext.features(up), f, rtol=1e-5, atol=1e-5)


def test_tampered_default_weights_are_refused(tmp_path, monkeypatch):
    bad = tmp_path / "digits_classifier.pt"
    state = torch.load(digits_mod.WEIGHTS_FILE, weights_only=True)
    state["head.1.bias"][0] += 1e-3  # a slightly different network
    torch.save(state, bad)
    monkeypatch.setattr(digits_mod, "WEIGHTS_FILE", bad)
    with pytest.raises(HarnessError, match="expected " + digits_mod.WEIGHTS_SHA256):
        digits_mod.DigitsClassifier()
    # an explicitly given file is used as is, and its own hash is recorded
    assert digits_mod.DigitsClassifier(weights=bad).weights_sha256() == sha256_file(bad)


def test_the_training_command_is_deterministic(tmp_path, capsys):
    from harness.features.train_digits import main

    a, b = tmp_path / "a" / "w.pt", tmp_path / "b" / "w.pt"
    assert main(["--out", str(a), "--epochs", "1"]) == 0
    assert main(["--out", str(b), "--epochs", "1"]) == 0
    assert sha256_file(a) == sha256_file(b)
    out = capsys.readouterr().out
    assert out.count(f"sha256: {sha256_file(a)}") == 2 and "held-out accuracy at 8x8" in out


def test_torchmetrics_fid_wrapper_agrees_with_our_fid():
    from harness.metrics.tm import torchmetrics_fid

    ds = get_dataset("stacked-digits")
    ext = get_features("digits-classifier")
    real = ds.reference(400)
    fake = ds.sample(300, torch.Generator().manual_seed(2)).clamp(-1, 0.5)
    metric = torchmetrics_fid(ext, 3)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    ours = fid(ext.features(real), ext.features(fake))
    assert float(metric.compute()) == pytest.approx(ours, rel=1e-6)
    assert ours > 1.0


# ------------------------------------------------------------------------------------------ Inception
def test_inception_images_are_quantised_to_uint8_rgb():
    x = torch.tensor([-1.0, -0.5, 0.0, 0.999, 1.0]).reshape(1, 1, 1, 5)
    u = to_uint8_rgb(x)
    assert u.dtype == torch.uint8 and u.shape == (1, 3, 1, 5)
    assert u[0, :, 0].tolist() == [[0, 64, 128, 255, 255]] * 3  # round((x + 1) * 127.5)
    with pytest.raises(HarnessError, match="1- or 3-channel"):
        to_uint8_rgb(torch.zeros(1, 2, 4, 4))


def test_missing_inception_weights_are_one_line_saying_which_file_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(HarnessError) as e:
        get_features("inception-v3")
    msg = str(e.value)
    assert WEIGHTS_NAME in msg and str(tmp_path / "torch" / "hub" / "checkpoints") in msg and "\n" not in msg
    with pytest.raises(HarnessError, match="does not exist"):
        get_features("inception-v3", weights=str(tmp_path / "nope.pth"))


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory) -> Path:
    """A weights file in torch-fidelity's format, from a randomly initialised network of the same
    architecture (the real weights cannot be downloaded here)."""
    from unittest import mock

    import torch_fidelity.feature_extractor_inceptionv3 as fe

    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), \
            mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None), \
            torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        for m in net.modules():  # He init keeps activations O(1) through the 94 ReLU layers
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / WEIGHTS_NAME
    torch.save(net.state_dict(), path)
    return path


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def images(n: int, size: int = 32, channels: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, channels, size, size), generator=g) * 2 - 1


@inception
@needs_fidelity
def test_inception_loads_the_weights_file_from_a_path_and_from_torch_home(random_inception_weights, tmp_path,
                                                                          monkeypatch):
    ext = get_features("inception-v3", weights=str(random_inception_weights))
    f = ext.features(images(3))
    assert f.shape == (3, 2048) and np.isfinite(f).all() and f.dtype == np.float64
    assert 1e-3 < np.abs(f).mean() < 1e3  # O(1) features: the comparisons below are meaningful
    assert rel_diff(f[0], f[1]) > 1e-3
    assert ext.weights_sha256() == sha256_file(random_inception_weights)
    d = ext.describe()
    assert d["resize"].endswith("(antialias=False)") and d["weights_sha256"] == ext.weights_sha256()
    ckpt = tmp_path / "torch" / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    shutil.copy(random_inception_weights, ckpt / WEIGHTS_NAME)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ext2 = get_features("inception-v3")
    assert ext2.path == ckpt / WEIGHTS_NAME
    np.testing.assert_array_equal(ext2.features(images(3)), ext.features(images(3)))


@inception
@needs_fidelity
def test_inception_features_match_torch_fidelitys_tensorflow_compatible_reference(random_inception_weights):
    """torch-fidelity's own extractor (TF1-compatible bilinear resize) on the same uint8 images;
    the antialiased resize (torchmetrics >= 1.8's default) is the known-broken alternative."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe
    from torchmetrics.image.fid import NoTrainInceptionV3

    x = images(2, size=28, channels=1, seed=1)  # grey, not 299: exercises both conversions
    ours = get_features("inception-v3", weights=str(random_inception_weights)).features(x)
    ref_net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                             feature_extractor_weights_path=str(random_inception_weights))
    with torch.no_grad():
        ref = ref_net(to_uint8_rgb(x))[0].double().numpy()
        antialiased = NoTrainInceptionV3("inception-v3-compat", ["2048"], str(random_inception_weights),
                                         antialias=True)(to_uint8_rgb(x)).double().numpy()
    assert rel_diff(ours, ref) < 1e-5
    assert rel_diff(antialiased, ref) > 1e-3


@inception
@needs_fidelity
def test_inception_features_do_not_depend_on_the_batch_size(random_inception_weights):
    ext = get_features("inception-v3", weights=str(random_inception_weights))
    x = images(3, seed=2)
    np.testing.assert_array_equal(ext.features(x)[:1], ext.features(x[:1]))  # fixed chunks: by construction


@inception
@needs_fidelity
def test_image_evaluator_with_inception_features(random_inception_weights, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    from PIL import Image

    for i in range(4):
        Image.new("RGB", (16, 16), (60 * i, 0, 0)).save(folder / f"{i}.png")
    ds = get_dataset("image-folder", data_path=str(folder))
    assert ds.default_features == "inception-v3"
    with pytest.raises(HarnessError, match="d = 2048"):  # FID needs N > 2048 reference images
        ds.evaluator(4, feature_weights=str(random_inception_weights))
