"""The portal as a person sees it: find by label and visible text, wait for what the page shows, and a
screenshot per step under build/browser/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

MAX_SHOT_HEIGHT = 2400
AFTER_LAYOUT = "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
WAIT_S = 30.0  # a ceiling for asynchronous steps (webhooks, the order worker); each returns when done


class PortalPage:
    def __init__(self, driver: WebDriver, url: str, screenshots: Path) -> None:
        self.driver = driver
        self.url = url
        self.screenshots = screenshots
        self._step = 0

    # --- looking ----------------------------------------------------------------------------------

    def until(self, probe: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        def attempt(_: WebDriver) -> Any:
            try:
                return probe()
            except StaleElementReferenceException:
                return None  # the view re-rendered while we looked: look again

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(attempt)
        except TimeoutException:
            self.shot(f"timeout-{what.replace(' ', '-')[:40]}")
            raise AssertionError(f"the page never showed {what}; it shows:\n{self.text()[:2000]}") from None

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str = "main") -> str:
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""

    def wait_text(self, css: str, expected: str, timeout: float = WAIT_S) -> str:
        return str(
            self.until(
                lambda: t if expected in (t := self.text(css)) else None,
                f"{expected!r} in {css}",
                timeout,
            )
        )

    def heading(self) -> str:
        return self.text("main h1")

    def field(self, label: str) -> WebElement:
        """The input a visible <label> names (so the test also checks the labels are there)."""
        found = self.driver.find_element(By.XPATH, f"//label[normalize-space()={_xpath(label)}]")
        return self.driver.find_element(By.ID, str(found.get_attribute("for")))

    def click(self, text: str) -> None:
        """Click the enabled button with this text, once the view shows it."""
        self.click_xpath(f"//button[normalize-space()={_xpath(text)}]")

    def click_xpath(self, xpath: str) -> None:
        """Click what ``xpath`` finds, once it is there and enabled; found again if the view re-rendered
        under the click."""
        for _ in range(3):
            found: WebElement = self.until(
                lambda: next((e for e in self.driver.find_elements(By.XPATH, xpath) if e.is_enabled()), None),
                f"something to click at {xpath}",
            )
            try:
                found.click()
                return
            except StaleElementReferenceException:
                continue
        raise AssertionError(f"{xpath} kept being re-rendered")

    def unlabelled_controls(self) -> list[str]:
        """Every input or select on screen without a label (an accessibility basic)."""
        script = (
            "return [...document.querySelectorAll('input:not([type=hidden]), select')]"
            ".filter(e => !e.labels || e.labels.length === 0).map(e => e.id || e.name || e.outerHTML);"
        )
        result: list[str] = self.driver.execute_script(script)
        return result

    # --- doing --------------------------------------------------------------------------------------

    def open(self, fragment: str = "") -> None:
        self.driver.get(self.url + fragment)

    def go(self, nav_text: str, heading: str) -> None:
        self.click_xpath(f"//nav//a[normalize-space()={_xpath(nav_text)}]")
        self.wait_text("main h1", heading)

    def type(self, label: str, value: str) -> None:
        control = self.field(label)
        control.clear()
        control.send_keys(value)

    def sign_in(self, client_id: str, *, operator: bool = False) -> None:
        self.wait_text("main h1", "Sign in")
        self.type("Client id", client_id)
        checkbox = self.field("In the operators group")
        if checkbox.is_selected() != operator:
            checkbox.click()
        self.click("Sign in")
        self.wait_text("#who", f"Signed in as {client_id}")

    def sign_out(self) -> None:
        self.click_xpath("//button[@id='sign-out']")
        self.wait_text("main h1", "Sign in")

    def shot(self, name: str) -> Path:
        """The whole page (the window grown to its height for the moment), numbered by step."""
        self._step += 1
        path = self.screenshots / f"{self._step:02d}-{name}.png"
        size = self.driver.get_window_size()
        height = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
        self.driver.set_window_size(size["width"], min(max(height, size["height"]), MAX_SHOT_HEIGHT))
        try:
            self.driver.execute_script(AFTER_LAYOUT)
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(size["width"], size["height"])
        return path


def _xpath(text: str) -> str:
    return f'"{text}"' if '"' not in text else f"'{text}'"
