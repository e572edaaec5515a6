import os

import pytest
import torch

# Tests run single-threaded: results are compared bit for bit and the machine has 2 cores.
torch.set_num_threads(1)
os.environ.setdefault("GAN_HARNESS_CACHE", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "gan-harness"))


TINY = {"steps": 30, "batch_size": 64, "log_every": 10, "eval_every": 15, "n_eval": 500, "n_w1": 200,
        "g_hidden": 32, "d_hidden": 32, "g_layers": 2, "d_layers": 2}


@pytest.fixture
def tiny() -> dict:
    return dict(TINY)
