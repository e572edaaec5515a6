"""The numeric signature in every run's manifest (harness.runs.numeric_signature)."""
import json

import torch

from harness.runs import KERNEL_ENV_VARS, environment, numeric_signature

KEYS = {"cpu_model", "cpu_capability", "build", "torch_version", "threads", "env", "float32_matmul_precision",
        "device_type", "signature_id", "deterministic_algorithms", "deterministic_warn_only",
        "cudnn_deterministic", "cudnn_benchmark"}


def test_signature_has_its_keys_and_is_json(monkeypatch):
    for var in KERNEL_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    sig = numeric_signature("cpu")
    assert KEYS <= set(sig)
    assert set(sig["build"]) == {"blas_info", "lapack_info", "mkl_available", "mkl_version", "onednn_available",
                                 "onednn_version"}
    assert set(sig["threads"]) == {"intra_op", "inter_op"}
    assert sig["threads"]["intra_op"] == torch.get_num_threads()
    assert sig["torch_version"] == torch.__version__
    assert sig["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert sig["device_type"] == "cpu" and "gpu_name" not in sig
    assert sig["env"] == {}
    assert isinstance(sig["cpu_model"], str) and sig["cpu_model"]
    assert len(sig["signature_id"]) == 16 and int(sig["signature_id"], 16) >= 0
    assert json.loads(json.dumps(sig, sort_keys=True)) == sig
    assert environment("cpu")["numeric_signature"]["signature_id"] == sig["signature_id"]


def test_signature_id_is_stable_and_follows_what_decides_the_numbers(monkeypatch):
    for var in KERNEL_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    first = numeric_signature("cpu")
    assert numeric_signature("cpu") == first
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    changed = numeric_signature("cpu")
    assert changed["env"] == {"MKL_CBWR": "COMPATIBLE"}
    assert changed["signature_id"] != first["signature_id"]
    monkeypatch.delenv("MKL_CBWR")
    previous = torch.get_num_threads()
    torch.set_num_threads(previous + 1)
    try:
        assert numeric_signature("cpu")["signature_id"] != first["signature_id"]
    finally:
        torch.set_num_threads(previous)
    assert numeric_signature("cpu")["signature_id"] == first["signature_id"]


def test_determinism_flags_are_recorded_not_hashed():
    from harness.trainer import deterministic

    outside = numeric_signature("cpu")
    with deterministic(torch.device("cpu")):
        inside = numeric_signature("cpu")
    assert inside["deterministic_algorithms"] is True and inside["cudnn_benchmark"] is False
    assert inside["signature_id"] == outside["signature_id"]


def test_cuda_fields_without_a_gpu(monkeypatch):
    """The CUDA branch, with torch.cuda faked (no GPU here): the GPU, CUDA and cuDNN versions and
    TF32 flags are recorded and hashed; the device index is not."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda dev=None: (9, 0))
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 91002)
    sig = numeric_signature("cuda:0")
    assert (sig["device_type"], sig["gpu_name"], sig["gpu_capability"], sig["cuda_version"], sig["cudnn_version"]) == (
        "cuda", "NVIDIA H200", "9.0", "12.8", 91002)
    assert set(sig["allow_tf32"]) == {"cuda_matmul", "cudnn"}
    assert json.loads(json.dumps(sig)) == sig
    assert numeric_signature("cuda:1")["signature_id"] == sig["signature_id"]
    assert numeric_signature("cpu")["signature_id"] != sig["signature_id"]
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    assert numeric_signature("cuda:0")["signature_id"] != sig["signature_id"]
