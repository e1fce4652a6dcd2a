"""Docker-free bundling: what goes into the layer, and that it is rebuilt only when its inputs change."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from infra import bundling


@pytest.fixture
def fake_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records each install and lays down what pip would (including packages the runtime provides)."""
    installs: list[list[str]] = []
    source = tmp_path / "src" / "managed_accounts"
    source.mkdir(parents=True)
    (source / "__init__.py").write_text("VERSION = 1\n")

    def install(target: Path, requirements: list[str], constraints: Path | None, uv: str) -> None:
        installs.append(requirements)
        for package in ("pydantic", "botocore", "boto3", "httpx"):
            (target / package).mkdir(parents=True, exist_ok=True)
            (target / package / "__init__.py").write_text("")
        (target / "botocore-1.0.dist-info").mkdir()

    monkeypatch.setattr(bundling, "_pip_install", install)
    monkeypatch.setattr(bundling, "_locked_constraints", lambda build_dir, uv: None)
    monkeypatch.setattr(bundling, "find_uv", lambda: "uv")
    monkeypatch.setattr(bundling, "LAYER_SOURCE_DIR", source)
    return installs


def test_runtime_requirements_come_from_pyproject_without_boto3() -> None:
    requirements = bundling.runtime_requirements()
    names = {bundling._name(r) for r in requirements}
    assert {"aws-lambda-powertools", "pydantic", "httpx", "cryptography"} <= names
    assert "boto3" not in names


def test_layer_holds_dependencies_and_the_package_but_not_the_runtime_sdk(
    tmp_path: Path, fake_pip: list[list[str]]
) -> None:
    layer = bundling.build_common_layer(tmp_path / "build")
    site = {p.name for p in (layer / "python").iterdir()}
    assert {"pydantic", "httpx", "managed_accounts"} <= site
    assert not {"boto3", "botocore", "botocore-1.0.dist-info"} & site
    assert (layer / "python" / "managed_accounts" / "__init__.py").read_text() == "VERSION = 1\n"


def test_rebuilt_only_when_inputs_change(tmp_path: Path, fake_pip: list[list[str]]) -> None:
    build = tmp_path / "build"
    bundling.build_common_layer(build)
    bundling.build_common_layer(build)
    assert len(fake_pip) == 1  # nothing changed: no second install

    source = tmp_path / "src" / "managed_accounts" / "__init__.py"
    source.write_text("VERSION = 2\n")
    layer = bundling.build_common_layer(build)
    assert len(fake_pip) == 1  # a source change re-copies the package only
    assert (layer / "python" / "managed_accounts" / "__init__.py").read_text() == "VERSION = 2\n"


def test_skipping_bundling_gives_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bundling.SKIP_ENV, raising=False)
    assert bundling.bundling_skipped("skip")
    assert not bundling.bundling_skipped(None)
    monkeypatch.setenv(bundling.SKIP_ENV, "1")
    assert bundling.bundling_skipped(None)
    placeholder = bundling.common_layer_dir(skip=True)
    assert (placeholder / "python" / "PLACEHOLDER.txt").exists()


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine without uv: none in $UV, none on the PATH, none in .tools/bin (yet)."""
    monkeypatch.delenv(bundling.UV_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    tools_uv = tmp_path / ".tools" / "bin" / "uv"
    monkeypatch.setattr(bundling, "TOOLS_UV", tools_uv)
    return tools_uv


def test_uv_from_the_makefile_wins(tmp_path: Path, no_uv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _executable(no_uv)
    given = _executable(tmp_path / "elsewhere" / "uv")
    monkeypatch.setenv(bundling.UV_ENV, str(given))
    assert bundling.find_uv() == str(given)


def test_uv_bootstrapped_into_tools_is_found_without_path(no_uv: Path) -> None:
    # A fresh clone: `make` put uv in .tools/bin and nothing is on the PATH (the bug: pip fallback).
    _executable(no_uv)
    assert bundling.find_uv() == str(no_uv)


def test_uv_on_the_path_is_used_before_tools(
    tmp_path: Path, no_uv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _executable(no_uv)
    on_path = _executable(tmp_path / "bin" / "uv")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert bundling.find_uv() == str(on_path)


def test_no_uv_is_a_clear_error(no_uv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(bundling.BundlingError, match=r"make synth.*UV=/path/to/uv"):
        bundling.find_uv()
    monkeypatch.setenv(bundling.UV_ENV, str(no_uv))  # named but missing
    with pytest.raises(bundling.BundlingError, match="not an executable uv"):
        bundling.find_uv()


def test_the_layer_is_installed_with_uv_for_lambdas_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []
    monkeypatch.setattr("infra.bundling.subprocess.run", lambda command, **_: commands.append(command))
    bundling._pip_install(tmp_path / "site", ["pydantic>=2"], tmp_path / "pins.txt", "/opt/uv")
    [command] = commands
    assert command[:3] == ["/opt/uv", "pip", "install"]
    flags = dict(itertools.pairwise(command))
    assert flags["--python-platform"] == "aarch64-manylinux2014"
    assert flags["--python-version"] == "3.12"
    assert flags["--only-binary"] == ":all:"
    assert flags["--constraint"] == str(tmp_path / "pins.txt")
    assert command[-1] == "pydantic>=2"
