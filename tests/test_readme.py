"""The README stays true: its Python examples run as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_custom_variant_example_runs(tmp_path, monkeypatch, capsys):
    blocks = [b for b in python_blocks() if "register_variant" in b and "harness.train(" in b]
    assert blocks, "README lost its custom-variant example"
    monkeypatch.chdir(tmp_path)
    code = blocks[0].replace('"steps": 200', '"steps": 20, "n_eval": 300, "n_w1": 100')
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.startswith("completed")
    assert (tmp_path / "runs/lsgan-demo/lsgan-pm1/ring8/seed-0/summary.json").exists()


def test_readme_commands_name_only_known_subcommands_and_flags():
    from harness.cli import build_parser

    parser = build_parser()
    for line in re.findall(r"^gan-harness (.*?)(?:\s+#.*)?$", README.read_text(), flags=re.M):
        args = line.split()
        if args and args[0] in ("run", "tune", "report", "evaluate", "record", "check"):
            ns = parser.parse_args(args)  # raises on an unknown flag
            assert ns.command == args[0]


@pytest.mark.slow
def test_readme_pytest_example_runs_as_written(tmp_path):
    """The README's pytest example: a user's test file using the gan_check fixture (entry point
    pytest11), run by pytest in a directory of its own, as a user would."""
    import subprocess
    import sys

    blocks = [b for b in python_blocks() if "def test_" in b and "gan_check" in b]
    assert len(blocks) == 1, "README lost its pytest example"
    (tmp_path / "test_my_gan.py").write_text(blocks[0])
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_gan.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout


def test_readme_ragan_plugin_runs_through_the_cli_as_written(tmp_path, monkeypatch):
    """Issue 19: RaGAN written as a plugin file in the README, run by `gan-harness run --plugin`,
    vectorised; its G loss sees D(real) (a counted extra real batch per G step)."""
    import json

    from harness.cli import main

    import harness.plugins

    (block,) = [b for b in python_blocks() if b.startswith("# ragan.py")]
    (tmp_path / "ragan.py").write_text(block)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness.plugins, "LOADED", [])  # later tests' workers do not load it
    argv = ["run", "--plugin", "ragan.py", "--variants", "ragan", "--setting", "authors", "--datasets", "ring8", "--seeds", "0,1",
            "--steps", "6", "--set", "eval_every=0", "--set", "n_eval=300", "--set", "n_w1=100",
            "--set", "noise_banks=0", "--set", "g_hidden=16", "--set", "d_hidden=16", "--vectorize",
            "--out", "runs", "--no-report", "--quiet"]
    assert main(argv) == 0
    assert harness.plugins.LOADED == [str(tmp_path / "ragan.py")]  # absolute: workers run elsewhere
    summary = json.loads((tmp_path / "runs/ragan/ring8/seed-0/summary.json").read_text())
    assert summary["status"] == "completed"
    # the loss against its closed form: at C = 0 everywhere both terms are log 2 (each player 2 log 2);
    # G's loss is D's with real and fake swapped
    import importlib.util
    import math

    import torch

    spec = importlib.util.spec_from_file_location("ragan_check", tmp_path / "ragan.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    zero = torch.zeros(4, dtype=torch.float64)
    assert mod.ragan_d(zero, zero).item() == pytest.approx(2 * math.log(2), rel=1e-12)
    r, f = torch.tensor([2.0, 0.5], dtype=torch.float64), torch.tensor([-1.0, 0.0], dtype=torch.float64)
    # D: softplus(-(r - mean f)) + softplus(f - mean r), mean f = -0.5, mean r = 1.25
    want = (math.log1p(math.exp(-2.5)) + math.log1p(math.exp(-1.0))) / 2 \
        + (math.log1p(math.exp(-2.25)) + math.log1p(math.exp(-1.25))) / 2
    assert mod.ragan_d(r, f).item() == pytest.approx(want, rel=1e-12)
    assert mod.ragan_g(r, f).item() == pytest.approx(want, rel=1e-12)  # roles swapped


def test_a_g_loss_that_sees_real_gets_d_of_a_fresh_real_batch():
    """The relativistic G loss is called with D(real); without g_sees_real, G's step draws no real batch."""
    import torch

    from harness.parts import LOSSES, LossPair
    from harness.trainer import resolve_run, setup

    calls = []
    LOSSES.register("test-sees-real", LossPair(lambda r, f: (r - f).mean(), lambda f, r: calls.append((f, r)) or
                                               (f - r.mean()).mean(), g_sees_real=True), replace=True)
    for loss, want in (("test-sees-real", 1), ("wasserstein", 0)):
        spec = resolve_run("wgan", "ring8", 0, {"loss": loss, "constraint": "none", "n_dis": 1, "batch_size": 8,
                                                "steps": 2, "g_hidden": 8, "d_hidden": 8, "n_eval": 100})
        state = setup(spec, torch.device("cpu")).state
        drawn = []
        calls.clear()
        real = state.real
        state.real = lambda: drawn.append(1) or real()
        state.step = 1
        state.g_step(probe=False)
        assert len(drawn) == want and len(calls) == want
        if want:
            f, r = calls[0]
            assert f.shape == r.shape == (8,)


def test_readme_lazy_r1_plugin_penalises_every_16th_d_step_with_16_times_the_weight(tmp_path, monkeypatch):
    """Issue 19: lazy R1 as a README plugin: counted D steps (32 G steps x 1 D step: R1 at D steps 16
    and 32 only, each 16 x R1), run by `gan-harness run --plugin`."""
    import json

    import harness.plugins
    from harness.cli import main
    from harness.parts.penalties import Draws, r1_penalty

    (block,) = [b for b in python_blocks() if b.startswith("# lazy_r1.py")]
    (tmp_path / "lazy_r1.py").write_text(block)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness.plugins, "LOADED", [])
    argv = ["run", "--plugin", "lazy_r1.py", "--variants", "vanilla", "--setting", "authors", "--set",
            "penalty=lazy-r1", "--datasets", "ring8", "--seeds", "0,1", "--steps", "32", "--set", "eval_every=0",
            "--set", "n_eval=300", "--set", "n_w1=100", "--set", "noise_banks=0", "--set", "log_every=1",
            "--set", "g_hidden=16", "--set", "d_hidden=16", "--vectorize", "--out", "runs", "--no-report", "--quiet"]
    assert main(argv) == 0
    history = [json.loads(line) for line in (tmp_path / "runs/vanilla/ring8/seed-0/history.jsonl").open()]
    with_penalty = [h["step"] for h in history if h.get("penalty") is not None]
    assert with_penalty == [16, 32]
    import torch
    from torch import nn

    pen = harness.parts.PENALTIES.get("lazy-r1")
    d = nn.Linear(2, 1)
    x = torch.randn(8, 2)
    assert pen(d, x, x, Draws(torch.Generator(), step=3, d_step=3)) is None
    assert pen(d, x, x, Draws(torch.Generator(), step=16, d_step=16)).item() == pytest.approx(
        16 * r1_penalty(d, x, x, torch.Generator()).item(), rel=1e-6)
