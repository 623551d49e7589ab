"""The console in a real browser, on the sandbox's closed loop.

sandbox bad-model-release → Alertmanager → `opsloop serve` investigates → Chromium (Debian's,
driven by Playwright; nothing downloaded) shows the incident in the list, its page with the
chart and the timeline → the approver signs in with a personal token and approves the
rollback on the page → the page shows the outcome, then the alert resolving. Screenshots go
to $OPSLOOP_TEST_ARTIFACTS (default ./test-artifacts).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from opsloop.agent.approvals.audit import AuditLog
from opsloop.agent.approvals.people import new_token
from opsloop.agent.cli.serve import build_server
from opsloop.agent.config import Settings, current_user
from opsloop.sandbox.manager import down, up

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
ARTIFACTS = Path(os.environ.get("OPSLOOP_TEST_ARTIFACTS") or Path.cwd() / "test-artifacts")


def chromium() -> str:
    """Return the system Chromium (Debian's `chromium` package)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make test` installs it (apt-get install chromium)"
    return found


def poll(check: Callable[[], Any], deadline_s: float, what: str, every_s: float = 0.5) -> Any:
    """Return check()'s first truthy value, or fail after the deadline."""
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        if found := check():
            return found
        time.sleep(every_s)
    pytest.fail(f"timed out after {deadline_s:.0f} s waiting for {what}")


def test_an_approver_diagnoses_and_rolls_back_from_the_console(opsloop_home):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    token, digest = new_token()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    up(opsloop_home, "bad-model-release", webhook=f"{base}/alerts/alertmanager")
    server = thread = None
    try:
        # The sandbox's policy lets the OS account that started it approve: that person
        # signs in with a personal token.
        settings = Settings().model_copy(update={"people": {current_user(): digest}})
        app, store, _ = build_server(settings, workers=1)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()

        def investigated() -> str | None:
            rows = [r for r in store.list_incidents(10) if r["top_hypothesis"]]
            return rows[0]["id"] if rows else None

        incident = poll(investigated, 240, "an investigated incident")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{base}/")
                link = page.locator(f'a[href="/incidents/{incident}"]')
                expect(link).to_be_visible()
                page.screenshot(path=str(ARTIFACTS / "console-incidents.png"), full_page=True)
                link.click()
                page.wait_for_url(f"**/incidents/{incident}")
                chart = page.locator("svg.chart").first
                expect(chart).to_be_visible()
                assert page.locator("svg.chart path.line").count() >= 1
                assert page.locator("svg.chart line.onset").count() >= 1
                expect(page.locator("ol.timeline li.alert").first).to_be_visible()
                expect(page.locator("pre.dryrun")).to_contain_text("fraud-detector")
                page.screenshot(path=str(ARTIFACTS / "console-incident.png"), full_page=True)
                _record_weight(page, base, incident)
                page.evaluate("document.getElementById('h-charts').scrollIntoView()")
                page.screenshot(path=str(ARTIFACTS / "console-charts.png"))  # the README's

                page.get_by_role("link", name="Sign in").first.click()
                page.get_by_label("Personal token").fill(token)
                page.get_by_role("button", name="Sign in").click()
                page.goto(f"{base}/incidents/{incident}")
                expect(page.get_by_text(f"Signed in as {current_user()}")).to_be_visible()
                page.get_by_label("Reason (audited)").fill("rolled back from the console")
                page.get_by_role("button", name="Approve").click()
                expect(page.locator(".flash")).to_contain_text("Approved")
                expect(page.locator(".outcome")).to_contain_text("rollback_model approved")

                def resolved() -> bool:
                    page.reload()
                    return page.locator(".meta .badge.resolved").count() == 1

                poll(resolved, 240, "the alert to resolve on the page", every_s=3)
                expect(page.locator("ol.timeline li.resolved").first).to_be_visible()
                page.screenshot(path=str(ARTIFACTS / "console-resolved.png"), full_page=True)
                _accessible_on_a_phone(browser, f"{base}/incidents/{incident}", token)
            finally:
                browser.close()
        decided = [e for e in AuditLog.from_settings(settings).for_thread(incident)
                   if e["decision"] == "approved"]  # fmt: skip
        assert [(e["action"], e["approver"], e["reason"]) for e in decided] == [
            ("rollback_model", current_user(), "rolled back from the console")
        ]
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=30)
        down(opsloop_home)


def _accessible_on_a_phone(browser: Any, url: str, token: str) -> None:
    """Check labels, keyboard reach and no sideways scrolling at phone width."""
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        phone.goto(url)
        overflow = phone.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px on a phone"
        unlabelled = phone.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, button')]
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                            && !(e.textContent || '').trim())
               .map(e => e.outerHTML)"""
        )
        assert unlabelled == [], unlabelled
        phone.keyboard.press("Tab")  # the first stop skips to the content
        assert phone.evaluate("document.activeElement.textContent") == "Skip to content"
        images = phone.evaluate(
            "[...document.querySelectorAll('svg.chart')].filter(s => !s.getAttribute('aria-label'))"
            ".length"
        )
        assert images == 0
        phone.screenshot(path=str(ARTIFACTS / "console-phone.png"), full_page=True)
    finally:
        phone.close()


def _record_weight(page: Any, base: str, incident: str) -> None:
    """Write what the incident page weighs (HTML, CSS, JS bytes) beside the screenshots."""
    import json

    import httpx

    html = httpx.get(f"{base}/incidents/{incident}", headers={"Accept": "text/html"}).content
    css = httpx.get(f"{base}/console/static/console.css").content
    js = httpx.get(f"{base}/console/static/console.js").content
    weight = {"html": len(html), "css": len(css), "js": len(js), "charts": page.locator(
        "svg.chart").count(), "total": len(html) + len(css) + len(js)}  # fmt: skip
    (ARTIFACTS / "console-weight.json").write_text(json.dumps(weight))
    assert weight["total"] < 500_000, weight  # server-rendered: no framework, no bundle
