"""The browser test's fixtures: the local stack as `make run` starts it (the CLI in its own process, ports 0,
a private state folder, the portal on its own origin) and a headless Chromium from Debian's packages
driven by Selenium through Debian's matching chromedriver (nothing is downloaded at test time)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_stack.remote import RunningStack
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.e2e.harness import ROOT, running_stack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "build" / "browser"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # In real time, as `make run`: the sandbox's clock is the wall clock (plus what the test advances it
    # by to confirm a transfer at once, as the demo does), so Dfns's timestamps and the product's agree
    # and the statement can link each outflow to the approval before it. A frozen clock would not.
    state_dir = tmp_path_factory.mktemp("portal-stack")
    with running_stack(state_dir, "--reconcile-seconds", "3600", realtime=True) as running:
        yield running


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def browser(downloads: Path) -> Iterator[webdriver.Chrome]:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.fail("Chromium and chromedriver are needed: `make test-browser` installs them (apt, as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1280,900", "--lang=en-GB",
    ):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    try:
        yield driver
    finally:
        driver.quit()
