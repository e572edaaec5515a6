"""Train the ``digits-classifier`` feature extractor: ``python -m harness.features.train_digits``.

Deterministic (fixed seed, one CPU thread, explicit generators): on the same torch build it writes a
bit-identical weights file, harness/features/digits_classifier.pt by default, and prints its SHA-256
and the held-out accuracy on the digits test split (20 % of scikit-learn's 1,797 digits, stratified,
never seen in training), at native 8x8 and after the harness' bilinear up-sampling to 16x16 and
32x32 followed by the classifier's area down-sampling. Training data: the digits training split,
augmented with random 1-pixel shifts and random up-/down-sampling cycles.

Options: ``--out PATH`` (another file), ``--epochs N``, ``--seed S``, ``--check`` (only evaluate the
existing file).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from .digits_data import digits_arrays
from ..rng import derive_seed, generator
from .base import sha256_file
from .digits import WEIGHTS_FILE, DigitNet, to_native

EPOCHS = 60
BATCH = 64
LR = 1e-3


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shift by up to 1 pixel (background -1), then per sample one of: nothing, 2x or 4x
    bilinear up-sampling followed by area down-sampling (what evaluating at 16 or 32 pixels does)."""
    n = x.shape[0]
    padded = F.pad(x, (1, 1, 1, 1), value=-1.0)
    off = torch.randint(0, 3, (n, 2), generator=gen)
    out = torch.empty_like(x)
    for dy in range(3):
        for dx in range(3):
            m = (off[:, 0] == dy) & (off[:, 1] == dx)
            if m.any():
                out[m] = padded[m, :, dy:dy + 8, dx:dx + 8]
    mode = torch.randint(0, 3, (n,), generator=gen)
    for k, factor in ((1, 2), (2, 4)):
        m = mode == k
        if m.any():
            up = F.interpolate(out[m], scale_factor=factor, mode="bilinear", align_corners=False)
            out[m] = F.interpolate(up, size=(8, 8), mode="area")
    return out


@torch.no_grad()
def accuracy(net: DigitNet, x: torch.Tensor, y: torch.Tensor, size: int = 8) -> float:
    net.eval()
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    pred = net(to_native(x.float())).argmax(1)
    return float((pred == y).double().mean())


def train(seed: int = 0, epochs: int = EPOCHS) -> tuple[DigitNet, dict[str, float]]:
    torch.set_num_threads(1)
    a = digits_arrays()
    x, y = torch.from_numpy(a["x_train"]), torch.from_numpy(a["y_train"])
    gen = generator(seed, "digits-classifier:data")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "digits-classifier:init"))  # init and dropout
        net = DigitNet()
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        for _ in range(epochs):
            net.train()
            perm = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), BATCH):
                idx = perm[i:i + BATCH]
                loss = F.cross_entropy(net(augment(x[idx], gen)), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
    net.eval()
    return net, evaluate(net)


def evaluate(net: DigitNet) -> dict[str, float]:
    a = digits_arrays()
    xt, yt = torch.from_numpy(a["x_test"]), torch.from_numpy(a["y_test"])
    return {str(s): accuracy(net, xt, yt, s) for s in (8, 16, 32)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.features.train_digits", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="evaluate the existing weights file only")
    args = ap.parse_args(argv)
    n_test = len(digits_arrays()["y_test"])
    if args.check:
        net = DigitNet()
        net.load_state_dict(torch.load(args.out, map_location="cpu", weights_only=True))
        acc = evaluate(net.eval())
    else:
        net, acc = train(args.seed, args.epochs)
        state = {k: v.detach().float().contiguous() for k, v in net.state_dict().items()}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, args.out)
    print(f"weights: {args.out}")
    print(f"sha256: {sha256_file(args.out)}")
    for size, v in acc.items():
        print(f"held-out accuracy at {size}x{size}: {v:.4f} ({round(v * n_test)}/{n_test})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
