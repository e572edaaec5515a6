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
