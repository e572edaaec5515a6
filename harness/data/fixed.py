"""A fixed training set iterated in epochs (``train_size`` > 0), as PacGAN's 2-D protocol trains.

`size` points are drawn once from the run's ``data`` stream. Each training example is a pack of
`pack` of them (`pack` = 1: one point): slot 0 of example i is point i, so one epoch shows every
point exactly once in slot 0; slots 1..pack-1 are points drawn uniformly with replacement, once,
when the set is made (PacGAN's code draws every slot so). Epoch e visits the `size` examples in the
order of a permutation drawn from the run seed's stream ``data:epoch-<e>``, `batch` examples per
batch, `size` / `batch` batches per epoch; batch k of the run is a pure function of (seed, k), so a
resumed run continues in the same order. Batches are slot-major (harness.nets.pack): rows s*B ..
s*B + B - 1 are slot s of the B examples.

PacGAN's code also draws slot 0 with replacement (a bootstrap resample of its points, about 63 %
of them distinct); here slot 0 is the set itself, so each point is seen once per epoch.
"""
from __future__ import annotations

import torch

from ..errors import HarnessError
from ..rng import Streams, generator


class FixedTrainingSet:
    def __init__(self, data, size: int, batch: int, pack: int, streams: Streams):
        if size < batch or size % batch:
            raise HarnessError(f"train_size={size} is not a whole number of batches of batch_size={batch}")
        self.size, self.batch_size, self.pack, self.seed = int(size), int(batch), int(pack), streams.seed
        gen = streams["data"]
        self.points = data.sample(self.size, gen)
        slots = [torch.arange(self.size)]
        slots += [torch.randint(self.size, (self.size,), generator=gen) for _ in range(self.pack - 1)]
        self.table = torch.stack(slots, dim=1)  # (size, pack): the points of each example
        self.per_epoch = self.size // self.batch_size
        self._epoch, self._order = -1, torch.arange(0)

    def order(self, epoch: int) -> torch.Tensor:
        """The permutation of the examples that epoch `epoch` (0-based) visits."""
        if epoch != self._epoch:
            self._epoch = epoch
            self._order = torch.randperm(self.size, generator=generator(self.seed, f"data:epoch-{epoch}"))
        return self._order

    def indices(self, k: int) -> torch.Tensor:
        """The point indices of batch `k` (0-based over the run), slot-major, shape (pack * batch,)."""
        epoch, j = divmod(int(k), self.per_epoch)
        rows = self.order(epoch)[j * self.batch_size:(j + 1) * self.batch_size]
        return self.table[rows].T.reshape(-1)

    def batch(self, k: int) -> torch.Tensor:
        return self.points[self.indices(k)]
