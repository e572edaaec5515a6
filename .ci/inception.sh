#!/usr/bin/env bash
# Inception-v3 path of the image metrics, in a second virtual environment.
#
# torchvision (which torch-fidelity needs) does not import beside the CPU build torch==2.13.0 of
# the main environment, so the tests marked `inception` run here, in a venv with the CUDA build
# torch==2.14.1 (it runs on the CPU) + torchvision 0.29.1 + torch-fidelity. The venv is built once
# (about 5.9 GB, 2.5 minutes from scratch here) and reused while its imports work. The project itself is not installed into it:
# the tests import this checkout through PYTHONPATH, so a stale copy can never be tested.
#
#   bash .ci/inception.sh            # build if needed, then run `pytest -m inception`
#   GAN_HARNESS_INCEPTION_VENV=/path bash .ci/inception.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAN_HARNESS_INCEPTION_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/gan-harness/inception-venv}"
PY="${PYTHON:-python3}"

if ! "$VENV/bin/python" -c "import torch_fidelity, torchvision, torchmetrics, sklearn, PIL, pytest" 2>/dev/null; then
    echo "inception.sh: building $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "torch==2.14.1" "torchvision==0.29.1" "torch-fidelity>=0.3" \
        "torchmetrics>=1.0" "numpy>=1.24" "scipy>=1.10" "pandas>=2.0" "seaborn>=0.13" "matplotlib>=3.7" \
        "tqdm>=4.60" "scikit-learn>=1.2" "pillow>=9" "pytest>=7" "pytest-benchmark>=4"
fi
"$VENV/bin/python" -c "import torch, torchvision, torch_fidelity; print('inception venv: torch', torch.__version__, 'torchvision', torchvision.__version__, 'torch-fidelity', torch_fidelity.__version__)"

cd "$ROOT"
# -m inception: only the Inception-path tests (the rest run in the main venv); REQUIRE turns their
# "torch-fidelity not importable" skip into a failure here.
GAN_HARNESS_REQUIRE_INCEPTION=1 PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -m pytest -q -m inception -p no:cacheprovider tests "$@"
