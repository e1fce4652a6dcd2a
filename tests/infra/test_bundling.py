"""Docker-free bundling: what goes into the layer, and that it is rebuilt only when its inputs change."""

from __future__ import annotations

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

    def install(target: Path, requirements: list[str], constraints: Path | None) -> None:
        installs.append(requirements)
        for package in ("pydantic", "botocore", "boto3", "httpx"):
            (target / package).mkdir(parents=True, exist_ok=True)
            (target / package / "__init__.py").write_text("")
        (target / "botocore-1.0.dist-info").mkdir()

    monkeypatch.setattr(bundling, "_pip_install", install)
    monkeypatch.setattr(bundling, "_locked_constraints", lambda build_dir: None)
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
