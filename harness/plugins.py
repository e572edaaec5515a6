"""Plugin modules named on the command line (``--plugin``): a user's variants and parts, loaded
before any name is resolved, in the main process and in every worker process of a sweep.

A plugin is an importable module name (``my_pkg.gans``) or the path of a Python file
(``my_gans.py``). Importing it is what registers its variants and parts (harness.register_variant,
harness.parts.LOSSES.register, ...), exactly as in an interactive session. Installed packages can
declare entry points instead (README, "Your own variant"); ``--plugin`` is for code that is not
installed, such as a test module or a script next to a user's training code.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterable

from .errors import HarnessError

#: plugins loaded in this process (the specs as given), in order: workers of a sweep load the same
LOADED: list[str] = []


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def load_plugin(spec: str) -> ModuleType:
    """Import one plugin (a module name or a .py path); HarnessError naming it when it is missing or
    raises on import. Loading the same plugin twice imports it once."""
    spec = str(spec)
    if _is_path(spec):
        path = Path(spec).resolve()
        if not path.is_file():
            raise HarnessError(f"--plugin {spec}: no such file")
        spec = str(path)  # workers load it by this absolute path, from whatever directory they run in
        # a stable module name per file, so a worker process imports it under the same name
        name = f"gan_harness_plugin_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
        if name in sys.modules:
            module = sys.modules[name]
        else:
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise HarnessError(f"--plugin {spec}: cannot be imported as a Python module")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            try:
                loader_spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules[name]
                raise HarnessError(f"--plugin {spec}: importing it raised {type(exc).__name__}: {exc}") from None
    else:
        try:
            module = importlib.import_module(spec)
        except ModuleNotFoundError as exc:
            if exc.name and spec.startswith(exc.name):
                raise HarnessError(f"--plugin {spec}: no module named {exc.name!r} (give an importable module name "
                                   "or the path of a .py file)") from None
            raise HarnessError(f"--plugin {spec}: importing it raised ModuleNotFoundError: {exc}") from None
        except Exception as exc:
            raise HarnessError(f"--plugin {spec}: importing it raised {type(exc).__name__}: {exc}") from None
    if spec not in LOADED:
        LOADED.append(spec)
    return module


def load_plugins(specs: Iterable[str]) -> list[ModuleType]:
    return [load_plugin(s) for s in specs]
