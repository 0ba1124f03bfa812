"""Requests never import diffusers' or transformers' lazily exported classes beside the warm-up
(models/libraries.py): every such name the run-time code imports inside a function is one that
`import_all` imports first, and a request waits for it."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from models import libraries

ROOT = Path(__file__).resolve().parent.parent
RUN_TIME = ("app.py", "explainers", "models", "store", "ui")


def lazy_library_imports() -> dict[str, set[str]]:
    """{"diffusers" | "transformers": names} imported inside functions of the run-time code, and the
    submodules imported from there (as "module:" + path)."""
    found: dict[str, set[str]] = {"diffusers": set(), "transformers": set()}
    files = [p for part in RUN_TIME for p in ((ROOT / part).rglob("*.py") if (ROOT / part).is_dir() else [ROOT / part])]
    for path in files:
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in found:
                    top = node.module.split(".")[0]
                    if node.module == top:
                        found[top] |= {a.name for a in node.names}
                    else:
                        found[top].add("module:" + node.module)
    return found


def test_every_class_a_function_imports_lazily_is_imported_first_by_the_warm_up():
    found = lazy_library_imports()
    assert found["diffusers"] and found["transformers"]  # the scan sees them (it is not vacuous)
    listed = {"diffusers": set(libraries.DIFFUSERS), "transformers": set(libraries.TRANSFORMERS)}
    for top, names in found.items():
        modules = {n.split(":", 1)[1] for n in names if n.startswith("module:")}
        assert names - {"module:" + m for m in modules} <= listed[top], top
        # a listed module imports its parents too
        assert all(any(m == x or x.startswith(m + ".") for x in libraries.MODULES) for m in modules), modules


def test_ready_waits_for_the_import_running_in_another_thread(monkeypatch):
    """A request that arrives while the warm-up imports waits for it, and imports nothing itself."""
    monkeypatch.setattr(libraries, "_done", threading.Event())
    started, release, calls = threading.Event(), threading.Event(), []
    real_import = libraries.import_module

    def slow_import(name):
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        return real_import(name)

    monkeypatch.setattr(libraries, "import_module", slow_import)
    warm = threading.Thread(target=libraries.import_all, name="warm")
    warm.start()
    assert started.wait(5)
    waiter = threading.Thread(target=libraries.ready, name="request")
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive()  # blocked behind the warm-up's import
    release.set()
    warm.join(10)
    waiter.join(10)
    assert not waiter.is_alive() and set(calls) == {"warm"}
    assert libraries.ready() is True


@pytest.mark.parametrize("top,names", [("diffusers", libraries.DIFFUSERS), ("transformers", libraries.TRANSFORMERS)])
def test_the_listed_names_exist_in_the_installed_libraries(top, names):
    lib = __import__(top)
    assert all(hasattr(lib, n) for n in names)
