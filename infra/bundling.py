"""Docker-free bundling: the common layer is pip-installed for Lambda's platform into ``build/layer``.

The layer holds the runtime dependencies from ``pyproject.toml`` (boto3 and friends excluded: the Lambda
runtime has them), pinned to the versions in ``uv.lock`` so Lambda runs what the tests ran, plus a copy of
``layers/common/managed_accounts``. Each part is rebuilt only when its inputs change (a hash kept in a
stamp file under ``build/``). Each function's asset is simply its folder ``functions/<name>/``.

The build runs ``uv`` (``uv export`` for the pins, ``uv pip install --target`` for the wheels): the project's
venv is made by uv and has no pip. ``find_uv`` takes the uv the Makefile uses (``$UV``, which ``uv run``
also sets), else ``uv`` on the PATH, else the one ``make`` bootstraps into ``.tools/bin``, and otherwise
fails with the command that fixes it.

Tests synthesise with bundling skipped (``-c bundling=skip`` or ``MANAGED_ACCOUNTS_SKIP_BUNDLING=1``): the
layer is then a placeholder directory, so nothing is downloaded and synth stays fast.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path

from infra.constants import (
    BUILD_DIR,
    FUNCTIONS_DIR,
    LAYER_SOURCE_DIR,
    PIP_PLATFORM,
    PYTHON_VERSION,
    ROOT,
    RUNTIME_PROVIDED,
    UV_PYTHON_PLATFORM,
)

SKIP_ENV = "MANAGED_ACCOUNTS_SKIP_BUNDLING"
UV_ENV = "UV"
TOOLS_UV = ROOT / ".tools" / "bin" / "uv"  # where the Makefile bootstraps uv when none is on the PATH
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


def bundling_skipped(context_value: object) -> bool:
    return context_value == "skip" or os.environ.get(SKIP_ENV, "") not in ("", "0")


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """``[project].dependencies`` without the packages the Lambda runtime already provides."""
    deps: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [d for d in deps if _name(d) not in RUNTIME_PROVIDED]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _tree_files(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _tree_digest(directory: Path) -> str:
    files = _tree_files(directory)
    return _digest([str(p.relative_to(directory)).encode() + b"\0" + p.read_bytes() for p in files])


def _stale(stamp: Path, key: str) -> bool:
    return not stamp.exists() or stamp.read_text() != key


class BundlingError(RuntimeError):
    """The layer cannot be built on this machine; the message says how to fix it."""


def find_uv() -> str:
    """The uv executable: ``$UV`` (set by the Makefile, and by ``uv run`` itself), ``uv`` on the PATH, or
    ``.tools/bin/uv`` (the Makefile's bootstrap)."""
    configured = os.environ.get(UV_ENV, "")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise BundlingError(f"{UV_ENV}={configured} is not an executable uv")
        return configured
    for candidate in (shutil.which("uv"), str(TOOLS_UV)):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise BundlingError(
        "building the Lambda layer needs uv, and none was found ($UV, PATH, .tools/bin/uv): run `make synth` "
        "(it bootstraps uv into .tools/bin), or set UV=/path/to/uv. To synthesise without the layer (tests "
        f"only, never deploy that), pass -c bundling=skip or set {SKIP_ENV}=1."
    )


def _locked_constraints(build_dir: Path, uv: str) -> Path | None:
    """The runtime pins from uv.lock as a pip constraints file (None without a lock)."""
    if not (ROOT / "uv.lock").exists():
        return None
    target = build_dir / "layer-constraints.txt"
    subprocess.run(  # noqa: S603 - a fixed command, no outside input
        [uv, "export", "--frozen", "--no-default-groups", "--no-emit-project", "--no-hashes",
         "--format", "requirements-txt", "-o", str(target)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return target


def _pip_install(target: Path, requirements: list[str], constraints: Path | None, uv: str) -> None:
    """``uv pip install`` of wheels only, for Lambda's platform and CPython, into ``target``."""
    command = [
        uv, "pip", "install", "--quiet", "--python-platform", UV_PYTHON_PLATFORM,
        "--target", str(target), "--python-version", PYTHON_VERSION, "--only-binary", ":all:",
    ]  # fmt: skip
    if constraints is not None:
        command += ["--constraint", str(constraints)]
    subprocess.run([*command, *requirements], check=True, cwd=ROOT)  # noqa: S603 - pyproject's own deps


def _prune_runtime_provided(site: Path) -> None:
    for entry in site.iterdir():
        name = entry.name.split("-", 1)[0].lower().replace("_", "-")
        if name in RUNTIME_PROVIDED or entry.name == "bin":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def build_common_layer(build_dir: Path = BUILD_DIR) -> Path:
    """``build/layer`` (with ``python/`` inside, as Lambda layers expect), rebuilt only when stale."""
    layer = build_dir / "layer"
    site = layer / "python"
    build_dir.mkdir(parents=True, exist_ok=True)
    requirements = runtime_requirements()
    lock = ROOT / "uv.lock"
    deps_key = _digest(
        [*(r.encode() for r in requirements), PYTHON_VERSION.encode(), PIP_PLATFORM.encode(),
         lock.read_bytes() if lock.exists() else b""]
    )  # fmt: skip
    deps_stamp = build_dir / "layer-deps.stamp"
    if _stale(deps_stamp, deps_key) or not site.exists():
        shutil.rmtree(layer, ignore_errors=True)
        uv = find_uv()
        _pip_install(site, requirements, _locked_constraints(build_dir, uv), uv)
        _prune_runtime_provided(site)
        deps_stamp.write_text(deps_key)
        (build_dir / "layer-source.stamp").unlink(missing_ok=True)
    source_key = _tree_digest(LAYER_SOURCE_DIR)
    source_stamp = build_dir / "layer-source.stamp"
    package = site / LAYER_SOURCE_DIR.name
    if _stale(source_stamp, source_key) or not package.exists():
        shutil.rmtree(package, ignore_errors=True)
        shutil.copytree(LAYER_SOURCE_DIR, package, ignore=_IGNORED)
        source_stamp.write_text(source_key)
    return layer


def placeholder_layer() -> Path:
    """A tiny stand-in for the layer when bundling is skipped (tests): never deploy such a synth."""
    directory = Path(tempfile.gettempdir()) / "managed-accounts-placeholder-layer"
    marker = directory / "python" / "PLACEHOLDER.txt"
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("Synthesised with bundling skipped: this layer is empty. Do not deploy.\n")
    return directory


def common_layer_dir(*, skip: bool) -> Path:
    return placeholder_layer() if skip else build_common_layer()


def function_asset_dir(folder: str) -> Path:
    return FUNCTIONS_DIR / folder


ASSET_EXCLUDES = ["__pycache__", "*.pyc"]
