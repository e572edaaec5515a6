"""Image data sets and the image evaluator. Every file format is written here, tiny, by the test."""
from __future__ import annotations

import gzip
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest
import torch

from harness.data import DATASETS, get_dataset
from harness.data.images import (REFERENCE_SEED, digits_arrays, load_cifar10, load_image_folder, read_idx,
                                 resize_images)
from harness.errors import HarnessError
from harness.spec import make_config


def cfg(**kw):
    return make_config(kw)


# ------------------------------------------------------------------------------------------ digits
def test_digits_are_the_bundled_training_split_scaled_to_minus_one_one():
    a = digits_arrays()
    assert len(a["x_train"]) + len(a["x_test"]) == 1797
    assert len(a["x_test"]) == 359 and len(a["x_train"]) == 1438
    # stratified: every class is about 20 % test
    for c in range(10):
        n_c = (a["y_train"] == c).sum() + (a["y_test"] == c).sum()
        assert (a["y_test"] == c).sum() == round(0.2 * n_c)
    # disjoint: no test image is a training image
    train_rows = {r.tobytes() for r in a["x_train"]}
    assert sum(r.tobytes() in train_rows for r in a["x_test"]) <= 3  # a few exact duplicates exist in the source
    ds = get_dataset("digits", config=cfg())
    assert ds.shape == (1, 8, 8) and ds.n_images == 1438
    x = ds.sample(500, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and x.shape == (500, 1, 8, 8)
    assert x.min() == -1.0 and x.max() == 1.0
    # values 0..16 map to multiples of 1/8
    assert torch.equal(x * 8, torch.round(x * 8))


def test_sampling_uses_only_the_given_generator():
    ds = get_dataset("stacked-digits")
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = ds.sample(64, torch.Generator().manual_seed(5))
    after = torch.rand(1)
    assert torch.equal(before, after)  # the global RNG was not touched
    assert torch.equal(a, ds.sample(64, torch.Generator().manual_seed(5)))
    assert not torch.equal(a, ds.sample(64, torch.Generator().manual_seed(6)))


def test_stacked_digits_put_three_independent_training_digits_in_the_channels():
    ds = get_dataset("stacked-digits", config=cfg())
    assert ds.shape == (3, 8, 8) and ds.describe()["n_modes"] == 1000
    train = {r.tobytes(): i for i, r in enumerate(digits_arrays()["x_train"][:, 0])}
    x = ds.sample(300, torch.Generator().manual_seed(1)).numpy()
    for s in x[:50]:
        for c in range(3):
            assert s[c].tobytes() in train  # each channel is a real training digit
    same = [(x[:, 0] == x[:, 1]).all(axis=(1, 2)).mean(), (x[:, 1] == x[:, 2]).all(axis=(1, 2)).mean()]
    assert max(same) < 0.02  # drawn independently


@pytest.mark.parametrize("size", [16, 32])
def test_digits_upsampled(size):
    ds = get_dataset("stacked-digits", config=cfg(image_size=size))
    assert ds.shape == (3, size, size)
    assert ds.describe()["resize"] == "bilinear up-sampling"
    x = ds.sample(20, torch.Generator().manual_seed(0))
    assert x.shape == (20, 3, size, size) and x.min() >= -1 and x.max() <= 1
    native = get_dataset("stacked-digits").sample(20, torch.Generator().manual_seed(0))
    back = torch.nn.functional.interpolate(x, size=(8, 8), mode="area")
    assert (back - native).abs().mean() < 0.15  # the same digits, blurred by the resampling


def test_resize_keeps_constants_and_range():
    x = torch.full((2, 1, 8, 8), 0.25)
    assert torch.allclose(resize_images(x, 32), torch.full((2, 1, 32, 32), 0.25))
    assert torch.allclose(resize_images(torch.full((1, 3, 32, 32), -1.0), 8), torch.full((1, 3, 8, 8), -1.0))


def test_reference_draw_is_fixed_and_without_replacement():
    ds = get_dataset("digits")
    r1, r2 = ds.reference(1000), ds.reference(1000)
    assert torch.equal(r1, r2)
    assert len({row.numpy().tobytes() for row in r1}) >= 995  # (the source has a few duplicate images)
    assert ds.n_reference(5000) == 1438  # never more than the set, never a repeat
    assert REFERENCE_SEED == 0


# --------------------------------------------------------------------------------------------- MNIST
def idx_bytes(arr: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + \
        arr.astype(np.uint8).tobytes()


def tiny_mnist(n: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("layout", ["plain", "gz", "dotted", "raw-subfolder"])
def test_mnist_reads_idx_files_gzipped_or_not(tmp_path, layout):
    imgs = tiny_mnist()
    name = {"plain": "train-images-idx3-ubyte", "gz": "train-images-idx3-ubyte.gz",
            "dotted": "train-images.idx3-ubyte", "raw-subfolder": "MNIST/raw/train-images-idx3-ubyte.gz"}[layout]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = idx_bytes(imgs)
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    ds = get_dataset("mnist", config=cfg(data_path=str(tmp_path)))
    assert ds.shape == (1, 28, 28) and ds.n_images == 12
    assert torch.equal(ds.reference(12).sort(0).values, (torch.from_numpy(imgs[:, None]).float() / 127.5 - 1).sort(0).values)
    st = get_dataset("stacked-mnist", config=cfg(data_path=str(tmp_path), image_size=32))
    assert st.shape == (3, 32, 32)


def test_idx_reader_known_answer_and_bad_files(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), arr)
    (tmp_path / "b").write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">I", 2) + np.array([1.5, -2], ">f4").tobytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "b"), [1.5, -2.0])
    (tmp_path / "c").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(HarnessError, match="not an IDX file"):
        read_idx(tmp_path / "c")
    (tmp_path / "d").write_bytes(idx_bytes(arr)[:-5])
    with pytest.raises(HarnessError, match="truncated"):
        read_idx(tmp_path / "d")


def test_missing_path_or_file_is_one_line_naming_files_and_places(tmp_path, monkeypatch):
    monkeypatch.delenv("GAN_HARNESS_DATA", raising=False)
    with pytest.raises(HarnessError) as e:
        get_dataset("mnist", config=cfg())
    assert "data_path" in str(e.value) and "GAN_HARNESS_DATA" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(HarnessError) as e:
        get_dataset("mnist", config=cfg(data_path=str(tmp_path)))
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path) in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "\n" not in msg
    with pytest.raises(HarnessError, match="does not exist"):
        get_dataset("cifar10", config=cfg(data_path=str(tmp_path / "nowhere")))
    with pytest.raises(HarnessError, match="data_batch_1..5"):
        get_dataset("cifar10", config=cfg(data_path=str(tmp_path)))
    with pytest.raises(HarnessError, match="no .*png"):
        get_dataset("image-folder", config=cfg(data_path=str(tmp_path)))


def test_env_var_is_the_fallback_and_data_path_wins(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, n in ((a, 5), (b, 7)):
        d.mkdir()
        (d / "train-images-idx3-ubyte").write_bytes(idx_bytes(tiny_mnist(n)))
    monkeypatch.setenv("GAN_HARNESS_DATA", str(a))
    assert get_dataset("mnist", config=cfg()).n_images == 5
    assert get_dataset("mnist", config=cfg(data_path=str(b))).n_images == 7


# ------------------------------------------------------------------------------------------ CIFAR-10
def cifar_batch(n: int, seed: int) -> bytes:
    data = np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)
    return pickle.dumps({b"batch_label": b"x", b"labels": [0] * n, b"data": data}, protocol=2)


def test_cifar10_reads_python_batches_from_a_folder_and_a_tarball(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(cifar_batch(2, i))
    (folder / "test_batch").write_bytes(cifar_batch(2, 9))
    x = load_cifar10(tmp_path)
    assert x.shape == (10, 3, 32, 32) and x.dtype == np.uint8
    first = np.frombuffer(pickle.loads((folder / "data_batch_1").read_bytes())[b"data"].tobytes(), np.uint8)
    np.testing.assert_array_equal(x[0].ravel(), first[:3072])  # channel-major rows, as CIFAR stores them
    tar = tmp_path / "tarred" / "cifar-10-python.tar.gz"
    tar.parent.mkdir()
    with tarfile.open(tar, "w:gz") as tf:
        tf.add(folder, arcname="cifar-10-batches-py")
    np.testing.assert_array_equal(load_cifar10(tar.parent), x)
    ds = get_dataset("cifar10", config=cfg(data_path=str(tar)))
    assert ds.shape == (3, 32, 32) and ds.default_features == "inception-v3"


def test_cifar_loader_refuses_pickles_that_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    for i in range(1, 6):
        (tmp_path / f"data_batch_{i}").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(HarnessError, match="refusing"):
        load_cifar10(tmp_path)


# --------------------------------------------------------------------------------------- image folder
def write_image(path, size, colour, fmt):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


def test_image_folder_reads_png_and_jpeg_recursively(tmp_path):
    write_image(tmp_path / "a.png", (12, 12), (255, 0, 0), "PNG")
    write_image(tmp_path / "sub" / "b.JPG", (12, 12), (0, 0, 255), "JPEG")
    (tmp_path / "notes.txt").write_text("ignored")
    x = load_image_folder(tmp_path)
    assert x.shape == (2, 3, 12, 12)
    np.testing.assert_array_equal(x[0, :, 0, 0], [255, 0, 0])
    assert x[1, 2].mean() > 240 and x[1, 0].mean() < 15  # JPEG: blue, up to compression
    ds = get_dataset("image-folder", config=cfg(data_path=str(tmp_path), image_size=8))
    assert ds.shape == (3, 8, 8)
    y = ds.reference(2)
    red = [im for im in y if im[0].min() == 1.0 and im[1].max() == -1.0 and im[2].max() == -1.0]
    assert len(red) == 1  # pure red in [-1, 1]


def test_image_folder_sizes_must_agree_unless_image_size_is_set(tmp_path):
    write_image(tmp_path / "a.png", (10, 10), (0, 0, 0), "PNG")
    write_image(tmp_path / "b.png", (16, 24), (255, 255, 255), "PNG")  # not square: centre-cropped
    with pytest.raises(HarnessError, match="differ in size.*image_size"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, size=8).shape == (2, 3, 8, 8)


# ------------------------------------------------------------------------------------------ evaluator
@pytest.fixture(scope="module")
def stacked_eval():
    ds = get_dataset("stacked-digits")
    return ds, ds.evaluator(400, features="", device="cpu", kid_subset_size=200, kid_subsets=10,
                            fid_inf_points=3, cache=False)


def test_evaluator_reports_every_image_metric_and_the_real_data_scores_well(stacked_eval):
    ds, ev = stacked_eval
    assert ev.metrics == ("modes_covered", "reverse_kl", "fid", "fid_inf", "kid", "precision", "recall", "density",
                          "coverage")
    real_like = ds.sample(400, torch.Generator().manual_seed(7)).numpy()
    collapsed = np.repeat(real_like[:4], 100, axis=0)
    good, bad = ev.evaluate(real_like), ev.evaluate(collapsed)
    assert set(good) == set(ev.metrics)
    assert good["modes_covered"] > 300 and bad["modes_covered"] <= 4
    assert good["fid"] < bad["fid"] / 20 and good["kid"] < bad["kid"] / 20
    assert good["recall"] > 0.6 and bad["recall"] < 0.05 and bad["coverage"] < 0.1
    p = ev.protocol()
    assert p["features"]["name"] == "digits-classifier" and len(p["features"]["weights_sha256"]) == 64
    assert p["modes"]["n_modes"] == 1000 and p["n_reference"] == 400 and p["reference_seed"] == 0


def test_uint8_samples_are_scored_like_the_same_floats(stacked_eval):
    _, ev = stacked_eval
    u8 = np.random.default_rng(0).integers(0, 256, size=(300, 3, 8, 8), dtype=np.uint8)
    assert ev.evaluate(u8) == ev.evaluate(u8.astype(np.float32) / 127.5 - 1.0)
    assert ev.evaluate(torch.from_numpy(u8)) == ev.evaluate(u8)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((300, 1, 8, 8), np.float32), r"shape \(N, 3, 8, 8\)"),
    (np.zeros((300, 3, 16, 16), np.float32), r"shape \(N, 3, 8, 8\)"),
    (np.zeros((300, 192), np.float32), r"shape \(N, 3, 8, 8\)"),
    (np.full((300, 3, 8, 8), np.nan, np.float32), "NaN"),
    (np.full((300, 3, 8, 8), 200.0, np.float32), r"\[-1, 1\]"),
    (np.zeros((192, 3, 8, 8), np.float32), "N = 192 for d = 192"),
    (np.zeros((300, 3, 8, 8), np.int32), "dtype int32"),
])
def test_bad_samples_are_one_line_errors(stacked_eval, bad, match):
    _, ev = stacked_eval
    with pytest.raises(HarnessError, match=match) as e:
        ev.check_samples(bad)
    assert "\n" not in str(e.value)


def test_evaluator_options_and_plain_digits(tmp_path):
    ds = get_dataset("digits")
    ev = ds.evaluator(300, features="digits-classifier", fid_inf_points=0, kid_subsets=5, cache=False)
    assert ev.metrics == ("modes_covered", "reverse_kl", "fid", "kid", "precision", "recall", "density", "coverage")
    out = ev.evaluate(ds.sample(300, torch.Generator().manual_seed(0)))
    assert out["modes_covered"] == 10 and out["reverse_kl"] < 0.05  # 10 classes, balanced
    with pytest.raises(HarnessError, match="unknown image evaluator option"):
        ds.evaluator(300, fid_points=3)
    with pytest.raises(HarnessError, match="unknown feature extractor 'inception'"):
        ds.evaluator(300, features="inception")
    with pytest.raises(HarnessError, match="real reference images"):
        get_dataset("stacked-digits").evaluator(100)  # N = 100 real for d = 192


def test_real_reference_features_are_cached_with_the_extractor_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_HARNESS_CACHE", str(tmp_path))
    ds = get_dataset("stacked-digits")
    ev = ds.evaluator(300, kid_subsets=2)
    first = ev.real()
    files = list((tmp_path / "reference").glob("*.npz"))
    assert len(files) == 1
    ev2 = ds.evaluator(300, kid_subsets=2)
    monkeypatch.setattr(ev2, "_compute_real", lambda: pytest.fail("recomputed despite the cache"))
    np.testing.assert_array_equal(ev2.real()["features"], first["features"])
    assert ev.cache_key()["features"]["weights_sha256"] == ev.extractor.weights_sha256()
    # another reference size, another image size: other keys
    ds.evaluator(320, kid_subsets=2).real()
    get_dataset("stacked-digits", config=cfg(image_size=16)).evaluator(300, kid_subsets=2).real()
    assert len(list((tmp_path / "reference").glob("*.npz"))) == 3
    assert not list((tmp_path / "reference").glob(".*tmp"))


def test_all_image_datasets_are_registered_with_defaults():
    for name in ("digits", "stacked-digits", "mnist", "stacked-mnist", "cifar10", "image-folder"):
        assert name in DATASETS
        assert DATASETS.get(name).defaults["z_dim"] in (64, 128)
    assert DATASETS.get("stacked-digits").defaults["n_eval"] == 10000
