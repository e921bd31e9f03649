"""The web inspector in real headless Chromium: sign in, search, open, history, delete, scopes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mnemoweave_server.testing import LiveServer


def _chromium() -> str:
    found = os.environ.get("MNEMOWEAVE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail("Debian's chromium is needed for the inspector tests (.ci/run installs it)")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("ui-store")) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=_chromium(), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MNEMOWEAVE_TEST_ARTIFACTS") or tmp_path) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(browser: Browser, server: LiveServer, key: str) -> Page:
    page = browser.new_page()
    page.goto(f"{server.url}/ui/login")
    page.fill("#key", key)
    page.click("#signin")
    expect(page.locator("h1")).to_have_text("Scopes")
    return page


def test_search_open_history_delete(browser: Browser, server: LiveServer, shots: Path) -> None:
    admin = server.client()
    first = admin.add("Alice likes green tea", user_id="ui-alice", infer=False)
    mid = first["results"][0]["id"]
    admin.add("Alice walks her dog every morning", user_id="ui-alice", infer=False)
    admin.update(mid, "Alice likes oolong tea")
    key = server.create_key("alice-ui", users=["ui-alice"]).key
    page = _sign_in(browser, server, key)
    page.click("text=ui-alice")
    expect(page.locator("#memories a.memory")).to_have_count(2)
    page.fill("#q", "oolong tea")
    page.click("#search")
    rows = page.locator("#memories tbody tr")
    expect(rows.first).to_contain_text("Alice likes oolong tea")
    expect(page.locator("#memories thead")).to_contain_text("fused")
    page.screenshot(path=str(shots / "search.png"), full_page=True)
    page.click("text=Alice likes oolong tea")
    history = page.locator("#history tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(1)).to_contain_text("UPDATE")
    expect(history.nth(1)).to_contain_text("Alice likes green tea")
    page.screenshot(path=str(shots / "memory.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#delete")
    expect(page.locator("h1")).to_have_text("Memory")
    assert admin.get(mid)["memory"] == "Alice likes oolong tea"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    expect(page.locator("#deleted")).to_be_visible()
    remaining = admin.get_all(user_id="ui-alice")["results"]
    assert [m["id"] for m in remaining if m["id"] == mid] == []
    page.close()


def test_a_key_bound_to_one_user_cannot_reach_another(browser: Browser, server: LiveServer) -> None:
    admin = server.client()
    bob = admin.add("Bob's secret plan", user_id="ui-bob", infer=False)["results"][0]["id"]
    admin.add("Carol's note", user_id="ui-carol", infer=False)
    key = server.create_key("carol-ui", users=["ui-carol"]).key
    page = _sign_in(browser, server, key)
    expect(page.locator("#scopes")).to_contain_text("ui-carol")
    expect(page.locator("#scopes")).not_to_contain_text("ui-bob")
    answer = page.goto(f"{server.url}/ui/memories?user_id=ui-bob")
    assert answer is not None
    assert answer.status == 403
    expect(page.locator("body")).not_to_contain_text("secret plan")
    answer = page.goto(f"{server.url}/ui/memories/{bob}")
    assert answer is not None
    assert answer.status == 404
    expect(page.locator("body")).not_to_contain_text("secret plan")
    answer = page.goto(f"{server.url}/ui/memories?q=secret+plan")
    assert answer is not None
    assert answer.status == 403
    page.close()


def test_no_key_no_pages(browser: Browser, server: LiveServer) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}/ui")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("#key", "not-a-key")
    page.click("#signin")
    expect(page.locator("#error")).to_contain_text("unknown or revoked")
    page.close()
