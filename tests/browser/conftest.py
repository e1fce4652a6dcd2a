"""The browser test's fixtures: the local stack as `make run` starts it (the CLI in its own process, ports 0,
a private state folder, the portal on its own origin) and a headless Chromium from Debian's packages
driven by Selenium through Debian's matching chromedriver (nothing is downloaded at test time)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_stack.remote import RunningStack
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.e2e.harness import (
    CONSOLE_LOG,
    ROOT,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    log_tail,
    stack_command,
    stack_env,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "build" / "browser"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    state_dir = tmp_path_factory.mktemp("portal-stack")
    log_path = state_dir / CONSOLE_LOG
    # In real time, as `make run`: the sandbox's clock is the wall clock (plus what the test advances it
    # by to confirm a transfer at once, as the demo does), so Dfns's timestamps and the product's agree
    # and the statement can link each outflow to the approval before it. A frozen clock would not.
    command = stack_command(
        state_dir, "run",
        "--api-port", "0", "--sandbox-port", "0", "--aws-port", "0", "--portal-port", "0",
        "--reconcile-seconds", "3600",
    )  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=stack_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (state_dir / "stack.json").exists():
            if process.poll() is not None:
                pytest.fail(f"the stack exited with {process.returncode}:\n{log_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the stack did not start in {START_TIMEOUT_S}s:\n{log_tail(log_path)}")
            time.sleep(0.05)
        with RunningStack(state_dir) as running:
            yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
