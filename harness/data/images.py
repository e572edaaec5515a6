"""Image data sets, read from disk only (never downloaded), and the image evaluator.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 real images, no download), the
  fixed training split (80 %, stratified; the other 20 % is the classifier's held-out test set),
  scaled to [-1, 1]. ``image_size`` 16 or 32 up-samples (bilinear).
- ``stacked-digits``: three independently drawn training digits in the three channels: 1,000
  modes, the built-in analogue of Stacked MNIST.
- ``mnist`` / ``stacked-mnist``: MNIST's training IDX file ``train-images-idx3-ubyte`` (gzipped or
  not), ``cifar10``: CIFAR-10's python batches ``data_batch_1..5`` (a ``cifar-10-batches-py``
  folder or ``cifar-10-python.tar.gz``), ``image-folder``: every PNG/JPEG under a folder.

Where files are looked for: the ``data_path`` config field (``--set data_path=DIR``), else the
environment variable ``GAN_HARNESS_DATA``; in that folder and in the conventional sub-folders
(``MNIST/raw``, ``mnist``, ``cifar-10-batches-py``). A missing path or file is one HarnessError
line naming the expected files and the folders searched.

Images are float32 (N, C, S, S) in [-1, 1]. ``image_size`` (0 = native) resizes once at load:
bilinear up-sampling (align_corners=False), antialiased bilinear down-sampling; image-folder
pictures are centre-cropped to a square first. Training batches use only the generator passed to
``sample``; the evaluator's real reference is a fixed draw (seed ``REFERENCE_SEED``), independent
of run seeds.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import HarnessError
from ..features import FeatureExtractor, get_features
from ..features.digits_data import DIGITS_TEST_FRACTION, digits_arrays, load_sklearn_digits  # noqa: F401  (re-exported)
from ..metrics.cache import cached_arrays
from ..metrics.fid import check_size, feature_stats, fid_from_stats, fid_infinity
from ..metrics.kid import KIDReference
from ..metrics.prdc import knn_sq_radii, prdc
from ..metrics.stacked import stacked_mode_metrics
from ..rng import generator
from .base import DATASETS, Dataset, Evaluator

REFERENCE_SEED = 0  # the real reference draw every image evaluator compares against
ENV_DATA = "GAN_HARNESS_DATA"


# ============================================================================ resizing
def resize_images(x: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """float (N, C, H, W) -> (N, C, size, size): bilinear up-sampling, antialiased bilinear down."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    down = size < max(h, w)
    out = [F.interpolate(x[i:i + chunk], size=(size, size), mode="bilinear", align_corners=False, antialias=down)
           for i in range(0, len(x), chunk)]
    return torch.cat(out).clamp_(-1.0, 1.0)


def u8_to_float(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(x)
    return t.float().div_(127.5).sub_(1.0)


# ============================================================================ locating files
def data_root(config_path: str, dataset: str, expected: str) -> Path:
    raw = (config_path or os.environ.get(ENV_DATA, "")).strip()
    if not raw:
        raise HarnessError(f"{dataset}: no data path given; set data_path=DIR (--set data_path=DIR) or {ENV_DATA}=DIR, "
                           f"DIR holding {expected} (never downloaded)")
    path = Path(raw).expanduser()
    if not path.exists():
        raise HarnessError(f"{dataset}: data path {path} does not exist (expected {expected})")
    return path


def find_first(dirs: list[Path], names: list[str]) -> Path | None:
    for d in dirs:
        for n in names:
            if (d / n).is_file():
                return d / n
    return None


def _open_maybe_gzip(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    opener: Callable[..., Any] = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as exc:
        raise HarnessError(f"cannot read {path}: {exc}") from None


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (MNIST's format; gzipped or not) as a numpy array."""
    path = Path(path)
    data = _open_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise HarnessError(f"{path} is not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise HarnessError(f"{path}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    count = int(np.prod(dims)) if dims else 1
    if len(data) - header < count * dtype.itemsize:
        raise HarnessError(f"{path}: IDX file is truncated ({len(data) - header} bytes of data for shape {dims})")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


MNIST_TRAIN = "train-images-idx3-ubyte"


def mnist_dirs(root: Path) -> list[Path]:
    return [root, root / "MNIST" / "raw", root / "mnist", root / "MNIST"]


def find_mnist_file(root: Path, stem: str = MNIST_TRAIN) -> Path:
    dotted = stem.replace("-idx", ".idx")  # some mirrors spell it train-images.idx3-ubyte
    names = [stem, stem + ".gz", dotted, dotted + ".gz"]
    dirs = mnist_dirs(root) if root.is_dir() else []
    if root.is_file() and root.name in names:
        return root
    found = find_first(dirs, names)
    if found is None:
        where = ", ".join(str(d) for d in (dirs or [root]))
        raise HarnessError(f"MNIST file {stem}[.gz] not found; looked in {where}")
    return found


def load_mnist(root: Path) -> np.ndarray:
    """MNIST training images, uint8 (N, 1, 28, 28)."""
    arr = read_idx(find_mnist_file(root))
    if arr.ndim != 3 or arr.dtype != np.uint8:
        raise HarnessError(f"MNIST images must be a uint8 IDX array (N, H, W), got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr[:, None])


CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TAR = "cifar-10-python.tar.gz"


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles CIFAR's batches (dicts of numpy arrays and lists) and nothing that runs code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}  # encode: bytes in protocol 2

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def _cifar_batch(raw: bytes, where: str) -> np.ndarray:
    try:
        d = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(d[b"data"] if b"data" in d else d["data"], dtype=np.uint8)
    except Exception as exc:
        raise HarnessError(f"{where} is not a CIFAR-10 python batch: {exc}") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise HarnessError(f"{where}: expected data of shape (N, 3072), got {data.shape}")
    return data.reshape(-1, 3, 32, 32)


def load_cifar10(root: Path) -> np.ndarray:
    """CIFAR-10's 50,000 training images, uint8 (N, 3, 32, 32)."""
    dirs = [root, root / "cifar-10-batches-py"] if root.is_dir() else []
    for d in dirs:
        if all((d / b).is_file() for b in CIFAR_BATCHES):
            return np.concatenate([_cifar_batch((d / b).read_bytes(), str(d / b)) for b in CIFAR_BATCHES])
    tar = root if root.is_file() else find_first([root], [CIFAR_TAR])
    if tar is not None:
        try:
            with tarfile.open(tar, "r:*") as tf:
                members = {Path(m.name).name: m for m in tf.getmembers() if m.isfile()}
                missing = [b for b in CIFAR_BATCHES if b not in members]
                if missing:
                    raise HarnessError(f"{tar} lacks {', '.join(missing)}")
                return np.concatenate([_cifar_batch(tf.extractfile(members[b]).read(), f"{tar}:{b}")
                                       for b in CIFAR_BATCHES])
        except tarfile.TarError as exc:
            raise HarnessError(f"cannot read {tar}: {exc}") from None
    where = ", ".join(str(d) for d in (dirs or [root]))
    raise HarnessError(f"CIFAR-10 python batches data_batch_1..5 (or {CIFAR_TAR}) not found; looked in {where}")


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def load_image_folder(root: Path, size: int = 0) -> np.ndarray:
    """Every PNG/JPEG under `root` (recursive, sorted by path) as uint8 RGB (N, 3, S, S): centre-
    cropped to a square, resized to `size` (bicubic) when size > 0, else all must share one size."""
    from PIL import Image

    if not root.is_dir():
        raise HarnessError(f"image-folder: {root} is not a folder of PNG/JPEG images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise HarnessError(f"image-folder: no *.png / *.jpg / *.jpeg files under {root}")
    out, first = [], None
    for p in files:
        try:
            with Image.open(p) as im:
                im = im.convert("RGB")
        except Exception as exc:
            raise HarnessError(f"image-folder: cannot read {p}: {exc}") from None
        w, h = im.size
        if w != h:
            s = min(w, h)
            left, top = (w - s) // 2, (h - s) // 2
            im = im.crop((left, top, left + s, top + s))
        if size:
            if im.size != (size, size):
                im = im.resize((size, size), Image.Resampling.BICUBIC)
        elif first is None:
            first = (p, im.size)
        elif im.size != first[1]:
            raise HarnessError(f"image-folder: images differ in size ({first[0].name}: {first[1][0]}x{first[1][1]}, "
                               f"{p.name}: {im.size[0]}x{im.size[1]}); set image_size")
        out.append(np.asarray(im, dtype=np.uint8).transpose(2, 0, 1))
    return np.stack(out)


# ============================================================================ data sets
class ImageDataset(Dataset):
    """A finite set of images; `stack` > 0 builds samples of `stack` independently drawn images
    (single-channel sources only), one per channel."""

    def __init__(self, name: str, images: np.ndarray | torch.Tensor, *, image_size: int = 0, stack: int = 0,
                 source: str = "", default_features: str = "digits-classifier", digit_modes: bool = False,
                 extra: dict[str, Any] | None = None):
        self.name = name
        arr = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        if arr.ndim != 4:
            raise HarnessError(f"{name}: images must be (N, C, H, W), got {arr.shape}")
        self.data_sha256 = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
        self.native = (int(arr.shape[2]), int(arr.shape[3]))
        t = u8_to_float(arr) if arr.dtype == np.uint8 else torch.as_tensor(arr, dtype=torch.float32)
        if int(image_size) and (arr.shape[2], arr.shape[3]) != (image_size, image_size):
            t = resize_images(t, int(image_size))
            self._u8 = None
        elif arr.dtype == np.uint8:
            self._u8, t = torch.from_numpy(np.ascontiguousarray(arr)), None  # convert per batch (memory)
        else:
            self._u8 = None
        self._float = t
        base = self._u8 if self._u8 is not None else self._float
        self.n_images = int(base.shape[0])
        self.stack = int(stack)
        if self.stack and base.shape[1] != 1:
            raise HarnessError(f"{name}: stacking needs single-channel images, got {base.shape[1]} channels")
        c = self.stack or int(base.shape[1])
        self.shape = (c, int(base.shape[2]), int(base.shape[3]))
        self.source = source
        self.default_features = default_features
        self.digit_modes = digit_modes
        self.extra = extra or {}

    def _images(self, idx: torch.Tensor) -> torch.Tensor:
        if self._u8 is not None:
            return u8_to_float(self._u8[idx])
        return self._float[idx]

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        if self.stack:
            idx = torch.randint(self.n_images, (n, self.stack), generator=gen)
            return self._images(idx.reshape(-1)).reshape(n, *self.shape)
        return self._images(torch.randint(self.n_images, (n,), generator=gen))

    def n_reference(self, n_eval: int) -> int:
        """Reference size: n_eval, or the whole set when that is smaller (unstacked sets are drawn
        without replacement, so no real image appears twice)."""
        return int(n_eval) if self.stack else min(int(n_eval), self.n_images)

    def reference(self, n: int) -> torch.Tensor:
        """The fixed real reference draw (seed REFERENCE_SEED, independent of every run seed)."""
        gen = generator(REFERENCE_SEED, f"{self.name}:reference")
        if self.stack:
            return self.sample(n, gen)
        return self._images(torch.randperm(self.n_images, generator=gen)[:n])

    evaluator_options = ("features", "feature_weights")

    def null_models(self) -> dict[str, Any]:
        """``real``: independent draws of the training images (stacked: independent stacks);
        ``null-gaussian``: every pixel from a Gaussian with that pixel's mean and standard deviation
        over the training images (per channel of the source), clipped to [-1, 1]."""
        base = self._images(torch.arange(self.n_images))
        mean, std = base.mean(dim=0), base.std(dim=0)

        def gaussian(n: int, gen: torch.Generator) -> torch.Tensor:
            shape = (n, self.stack) + tuple(mean.shape[1:]) if self.stack else (n,) + tuple(mean.shape)
            z = torch.randn(shape, generator=gen)
            return (mean + std * z).clamp(-1.0, 1.0) if not self.stack else \
                (mean[0] + std[0] * z).clamp(-1.0, 1.0)

        return {"real": self.sample, "null-gaussian": gaussian}

    def evaluator(self, n_eval: int, *, device: str = "cpu", **options: Any) -> "ImageEvaluator":
        return ImageEvaluator(self, n_eval, device=device, **options)

    def describe(self) -> dict[str, Any]:
        d = {"name": self.name, "shape": list(self.shape), "native_size": list(self.native),
             "n_images": self.n_images, "source": self.source, "data_sha256": self.data_sha256,
             "resize": "none" if self.native == tuple(self.shape[1:]) else
             ("bilinear up-sampling" if self.shape[1] > self.native[0] else "antialiased bilinear down-sampling")}
        if self.stack:
            d["stacked_channels"] = self.stack
        if self.digit_modes:
            d["n_modes"] = 10 ** self.shape[0]
        return {**d, **self.extra}


# ============================================================================ evaluator
def blas_threads() -> Any:
    """Limit numpy's BLAS to torch's thread count while metrics run: two worker processes with
    one torch thread each must not start two OpenBLAS threads each (on 2 cores, oversubscribed
    OpenBLAS ran a 10,000 x 192 covariance 20x slower)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=max(torch.get_num_threads(), 1), user_api="blas")


class ImageEvaluator(Evaluator):
    """FID (and FID-infinity), KID, precision/recall, density/coverage on a feature extractor, plus
    mode counting (modes_covered, reverse_kl over 10^C label tuples) on digit data when the
    extractor is a classifier.

    Options: ``features`` ('' = the data set's default), ``feature_weights`` (a weights path for
    the extractor, '' = its default location), ``device`` ('cpu'), ``kid_subsets`` (100), ``kid_subset_size`` (1000), ``fid_inf_points`` (5;
    0 = no fid_inf), ``n_prdc`` (10000: PR/DC use the first n_prdc real and generated samples),
    ``cache`` (True: real features cached on disk).
    """

    def __init__(self, data: ImageDataset, n_eval: int, *, features: str = "", feature_weights: str = "",
                 device: str = "cpu", kid_subsets: int = 100, kid_subset_size: int = 1000,
                 fid_inf_points: int = 5, n_prdc: int = 10000, k_pr: int = 3, k_dc: int = 5, cache: bool = True,
                 **unknown: Any):
        if unknown:
            raise HarnessError(f"unknown image evaluator option(s): {', '.join(sorted(unknown))}")
        self.data = data
        self.n_eval = int(n_eval)
        self.features_name = features or data.default_features
        self.extractor: FeatureExtractor = get_features(self.features_name, weights=feature_weights, device=device)
        self.channels = data.shape[0]
        self.dim = self.extractor.dim(self.channels)
        self.kid_subsets, self.kid_subset_size = int(kid_subsets), int(kid_subset_size)
        self.fid_inf_points = int(fid_inf_points)
        self.n_prdc, self.k_pr, self.k_dc = int(n_prdc), int(k_pr), int(k_dc)
        self.modes = data.digit_modes and self.extractor.is_classifier
        self.metrics = (("modes_covered", "reverse_kl") if self.modes else ()) + \
            ("fid",) + (("fid_inf",) if self.fid_inf_points else ()) + ("kid", "precision", "recall", "density", "coverage")
        self.n_ref = data.n_reference(self.n_eval)
        check_size(self.n_ref, self.dim, what=f"real reference images for {self.features_name} features")
        check_size(self.n_eval, self.dim, what=f"generated samples (n_eval) for {self.features_name} features")
        self._cache = bool(cache)
        self._real: dict[str, np.ndarray] | None = None
        self._kid: KIDReference | None = None

    # ---------------------------------------------------------------- real reference
    def cache_key(self) -> dict[str, Any]:
        dataset = {k: v for k, v in self.data.describe().items() if k != "path"}  # content is keyed by its hash
        return {"dataset": dataset, "n_ref": self.n_ref, "reference_seed": REFERENCE_SEED,
                "features": self.extractor.describe(), "n_prdc": min(self.n_prdc, self.n_ref),
                "k": [self.k_pr, self.k_dc], "device": self.extractor.device.type}

    def real(self) -> dict[str, np.ndarray]:
        """Real reference features, their statistics and k-NN radii (computed once, cached)."""
        if self._real is None:
            self._real = cached_arrays("reference", self.cache_key(), self._compute_real, enabled=self._cache)
        return self._real

    def _compute_real(self) -> dict[str, np.ndarray]:
        feats = self.extractor.features(self.data.reference(self.n_ref))
        with blas_threads():
            mu, sigma = feature_stats(feats)
            sq_radii = knn_sq_radii(feats[:min(self.n_prdc, len(feats))], (self.k_pr, self.k_dc))
        return {"features": feats, "mu": mu, "sigma": sigma, "sq_radii_pr": sq_radii[0], "sq_radii_dc": sq_radii[1]}

    # ---------------------------------------------------------------- samples
    def check_samples(self, samples: Any) -> np.ndarray:
        arr = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
        c, h, w = self.data.shape
        if arr.ndim != 4 or arr.shape[1:] != (c, h, w):
            raise HarnessError(f"samples for {self.data.name} must have shape (N, {c}, {h}, {w}), got {tuple(arr.shape)}")
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 127.5 - 1.0
        elif np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32, copy=False)
            bad = int((~np.isfinite(arr)).sum())
            if bad:
                raise HarnessError(f"samples contain {bad} NaN/Inf values")
            lo, hi = float(arr.min()), float(arr.max())
            if lo < -1.0 - 1e-3 or hi > 1.0 + 1e-3:
                raise HarnessError(f"float samples must lie in [-1, 1] (or pass uint8 in [0, 255]), got [{lo:.4g}, {hi:.4g}]")
            arr = np.clip(arr, -1.0, 1.0)
        else:
            raise HarnessError(f"samples must be float in [-1, 1] or uint8 in [0, 255], got dtype {arr.dtype}")
        check_size(len(arr), self.dim, what=f"generated samples for {self.features_name} features")
        return arr

    def evaluate(self, samples: Any) -> dict[str, float]:
        x = self.check_samples(samples)
        real = self.real()
        out: dict[str, float] = {}
        if self.modes:
            feats, labels = self.extractor.features_and_labels(x)
            out.update(stacked_mode_metrics(labels))
        else:
            feats = self.extractor.features(x)
        with blas_threads():
            out["fid"] = fid_from_stats(real["mu"], real["sigma"], *feature_stats(feats))
            if self.fid_inf_points:
                out["fid_inf"] = fid_infinity(real["mu"], real["sigma"], feats, self.fid_inf_points,
                                              seed=REFERENCE_SEED)[0]
            if self._kid is None:
                self._kid = KIDReference(real["features"], self.kid_subsets, self.kid_subset_size, seed=REFERENCE_SEED)
            out["kid"] = self._kid.score(feats)[0]
            n_r = len(real["sq_radii_pr"])
            out.update(prdc(real["features"][:n_r], feats[:self.n_prdc], self.k_pr, self.k_dc,
                            real_sq_radii={self.k_pr: real["sq_radii_pr"], self.k_dc: real["sq_radii_dc"]}))
        return out

    def protocol(self) -> dict[str, Any]:
        p: dict[str, Any] = {
            "n_eval": self.n_eval, "n_reference": self.n_ref, "reference_seed": REFERENCE_SEED,
            "reference": "without replacement from the training images" if not self.data.stack
            else "independent draws of the stacked training images",
            "features": self.extractor.describe(), "feature_dim": self.dim,
            "fid": "Frechet distance of Gaussian fits, (n-1) covariances, eigenvalue trace, float64",
            "kid": {"subsets": self.kid_subsets, "subset_size": min(self.kid_subset_size, self.n_ref, self.n_eval),
                    "kernel": "(x.y/d + 1)^3", "seed": REFERENCE_SEED},
            "prdc": {"k_precision_recall": self.k_pr, "k_density_coverage": self.k_dc,
                     "n_real": min(self.n_prdc, self.n_ref), "n_generated_max": self.n_prdc},
            "image_size": list(self.data.shape[1:]), "data_sha256": self.data.data_sha256,
        }
        if self.fid_inf_points:
            p["fid_inf"] = {"points": self.fid_inf_points, "fit": "least squares in 1/N", "seed": REFERENCE_SEED}
        if self.modes:
            p["modes"] = {"n_modes": 10 ** self.channels, "labels": f"{self.features_name} argmax per channel",
                          "definition": "VEEGAN / PacGAN stacked-MNIST protocol, all samples count"}
        return p


# ============================================================================ factories
def _opts(config: Any, options: dict[str, Any]) -> tuple[int, str]:
    size = options.get("image_size", getattr(config, "image_size", 0) if config is not None else 0)
    path = options.get("data_path", getattr(config, "data_path", "") if config is not None else "")
    return int(size or 0), str(path or "")


def _with_defaults(defaults: dict[str, Any]) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    def wrap(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        fn.defaults = defaults  # type: ignore[attr-defined]  (read by the trainer before building the config)
        return fn

    return wrap


DIGIT_DEFAULTS = {"z_dim": 64, "g_hidden": 64, "d_hidden": 64, "batch_size": 64}
COLOUR_DEFAULTS = {"z_dim": 128, "g_hidden": 64, "d_hidden": 64, "batch_size": 64, "n_eval": 10000}
DIGITS_SOURCE = "scikit-learn load_digits (UCI optical recognition of handwritten digits), 8x8, values 0..16"


@_with_defaults(DIGIT_DEFAULTS)
def _digits(config: Any = None, **options: Any) -> ImageDataset:
    """scikit-learn's bundled 8x8 digits (training split, 1,438 real images), 1x8x8; image_size 16/32 up-samples"""
    size, _ = _opts(config, options)
    a = digits_arrays()
    return ImageDataset("digits", a["x_train"], image_size=size, source=DIGITS_SOURCE, digit_modes=True,
                        extra={"split": f"train: {len(a['x_train'])} of 1797 (stratified, test fraction {DIGITS_TEST_FRACTION})"})


@_with_defaults({**DIGIT_DEFAULTS, "n_eval": 10000})
def _stacked_digits(config: Any = None, **options: Any) -> ImageDataset:
    """three independent digits in the channels, 3x8x8, 1,000 modes (built-in Stacked MNIST analogue)"""
    size, _ = _opts(config, options)
    a = digits_arrays()
    return ImageDataset("stacked-digits", a["x_train"], image_size=size, stack=3, source=DIGITS_SOURCE,
                        digit_modes=True,
                        extra={"split": f"train: {len(a['x_train'])} of 1797 (stratified, test fraction {DIGITS_TEST_FRACTION})"})


_MNIST_EXPECTED = f"MNIST's {MNIST_TRAIN}[.gz]"


@lru_cache(maxsize=2)
def _mnist_array(path: str, mtime: float) -> np.ndarray:
    return load_mnist(Path(path))


def _load_mnist_cached(dataset: str, config: Any, options: dict[str, Any]) -> tuple[np.ndarray, int, Path]:
    size, path = _opts(config, options)
    root = data_root(path, dataset, _MNIST_EXPECTED)
    f = find_mnist_file(root)
    return _mnist_array(str(f), f.stat().st_mtime), size, f


@_with_defaults(DIGIT_DEFAULTS)
def _mnist(config: Any = None, **options: Any) -> ImageDataset:
    """MNIST training images from local IDX files (data_path or $GAN_HARNESS_DATA), 1x28x28"""
    arr, size, f = _load_mnist_cached("mnist", config, options)
    return ImageDataset("mnist", arr, image_size=size, source=f"MNIST training images ({f.name})", digit_modes=True,
                        extra={"path": str(f)})


@_with_defaults({**DIGIT_DEFAULTS, "n_eval": 10000})
def _stacked_mnist(config: Any = None, **options: Any) -> ImageDataset:
    """three independent MNIST digits in the channels, 3x28x28, 1,000 modes (local IDX files)"""
    arr, size, f = _load_mnist_cached("stacked-mnist", config, options)
    return ImageDataset("stacked-mnist", arr, image_size=size, stack=3, source=f"MNIST training images ({f.name})",
                        digit_modes=True, extra={"path": str(f)})


@_with_defaults(COLOUR_DEFAULTS)
def _cifar10(config: Any = None, **options: Any) -> ImageDataset:
    """CIFAR-10 training images from the local python batches (data_path or $GAN_HARNESS_DATA), 3x32x32"""
    size, path = _opts(config, options)
    root = data_root(path, "cifar10", f"CIFAR-10's python batches data_batch_1..5 (cifar-10-batches-py/) or {CIFAR_TAR}")
    return ImageDataset("cifar10", load_cifar10(root), image_size=size, source="CIFAR-10 training batches 1-5",
                        default_features="inception-v3", extra={"path": str(root)})


@_with_defaults(COLOUR_DEFAULTS)
def _image_folder(config: Any = None, **options: Any) -> ImageDataset:
    """every PNG/JPEG under a local folder (data_path or $GAN_HARNESS_DATA), RGB, centre-cropped"""
    size, path = _opts(config, options)
    root = data_root(path, "image-folder", "a folder of PNG/JPEG images")
    arr = load_image_folder(root, size)
    return ImageDataset("image-folder", arr, image_size=size, source="PNG/JPEG files, centre-cropped, RGB",
                        default_features="inception-v3", extra={"path": str(root)})


DATASETS.register("digits", _digits)
DATASETS.register("stacked-digits", _stacked_digits)
DATASETS.register("mnist", _mnist)
DATASETS.register("stacked-mnist", _stacked_mnist)
DATASETS.register("cifar10", _cifar10)
DATASETS.register("image-folder", _image_folder)
