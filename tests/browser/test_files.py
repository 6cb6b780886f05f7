"""Files in Chromium: attached by the button, by dropping, by pasting; sent, kept, shown, served as due."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import samples
from tests.browser.conftest import OUTPUT, AppServer
from tests.browser.test_people import invitation, make_account, new_page
from tests.fake_llm import FakeLLM
from tests.test_several_instances import instance_env, start_instances

pytestmark = pytest.mark.browser

DROP = """([name, type, data]) => {
  const file = new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, {type});
  const transfer = new DataTransfer();
  transfer.items.add(file);
  const target = document.querySelector("#messages");
  for (const kind of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(kind, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""
# Every value the upload's progress bar showed while visible, however briefly it was.
WATCH_PROGRESS = """
window.__progress = [];
new MutationObserver(() => {
  const bar = document.querySelector(".composer-files progress");
  if (bar && bar.checkVisibility()) window.__progress.push(bar.value);
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["hidden", "value"]});
"""
PASTE = """([name, type, data]) => {
  const file = new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, {type});
  const transfer = new DataTransfer();
  transfer.items.add(file);
  const field = document.querySelector("#question");
  field.focus();
  const paste = new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true});
  field.dispatchEvent(paste);
}"""


@pytest.fixture
def instances(tmp_path: Path, model: FakeLLM) -> Iterator[tuple[AppServer, AppServer]]:
    """Two instances over one database, with accounts, and a model that sees images."""
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    env = instance_env(database, SIGN_IN="accounts", SIGN_UP="invite", VISION_MODELS="fake-model")
    with start_instances(env, tmp_path, model) as pair:
        yield pair


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_files_by_button_drop_and_paste_reach_the_model_and_are_served_only_where_allowed(
    page: Page, browser: Browser, instances, model, problems
):
    first, second = instances
    page.goto(first.url)
    page.get_by_role("link", name="Make an account").click()
    make_account(page, page.url, "ada")

    # The button: two files, one of them removed again by its chip's button.
    page.set_input_files(
        "#attach",
        files=[
            {
                "name": "photo.png",
                "mimeType": "image/png",
                "buffer": samples.image("PNG", (120, 80), "orange"),
            },
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"The boat leaves at noon."},
            {"name": "wrong.txt", "mimeType": "text/plain", "buffer": b"not this one"},
        ],
    )
    chips = page.locator(".chips .chip")
    expect(chips).to_have_count(3)
    expect(chips.nth(1)).to_contain_text("notes.txt")
    expect(chips.nth(1)).to_contain_text("24 bytes")
    page.get_by_role("button", name="Remove wrong.txt").click()
    expect(chips).to_have_count(2)
    # Dropped on the page, and pasted into the question.
    report = samples.pdf(["Annual report", "Profit rose by 12 percent."])
    page.evaluate(DROP, ["report.pdf", "application/pdf", encoded(report)])
    screenshot = samples.image("PNG", (64, 64), "purple")
    page.evaluate(PASTE, ["image.png", "image/png", encoded(screenshot)])
    expect(chips).to_have_count(4)
    expect(page.locator(".chips")).to_contain_text("report.pdf")
    expect(page.locator(".chips")).to_contain_text("image.png")
    # The caret left as it is: hiding it touches every element's style, which htmx would copy.
    page.screenshot(path=OUTPUT / "files-chips.png", caret="initial")

    question = page.get_by_label("Your question")
    question.fill("What do these say?")
    question.press("Enter")
    expect(page.locator("article.answer .answer-meta").last).to_contain_text("fake-model")
    expect(chips).to_have_count(0)

    # The model got both images as image parts and the documents' text under their names.
    parts = model.parts()
    assert [part["type"] for part in parts] == ["text", "image_url", "image_url"]
    text = parts[0]["text"]
    assert '<file name="notes.txt" type="text">\nThe boat leaves at noon.' in text
    assert '<file name="report.pdf" type="PDF" pages="2">' in text and "Profit rose by 12 percent." in text
    assert "wrong.txt" not in text

    # The question shows the images as thumbnails that open the image, and the documents as links.
    files = page.locator(".msg.question .files")
    expect(files.locator("img")).to_have_count(2)
    expect(files.get_by_role("link", name="report.pdf")).to_be_visible()
    page.screenshot(path=OUTPUT / "files-asked.png", caret="initial")
    with page.expect_popup() as opened:
        files.locator("a.file-image").first.click()
    image = opened.value
    expect(image).to_have_url(re.compile(r"/files/\d+$"))
    address = image.url.removeprefix(first.url)
    image.close()

    # The admin's history shows each file: name, kind, size, a thumbnail, a download link.
    page.get_by_role("link", name="History").click()
    row = page.locator("#history-rows tr").first
    expect(row.locator(".files img")).to_have_count(2)
    expect(row.get_by_role("link", name="report.pdf")).to_have_attribute("download", "")
    expect(row.locator(".files")).to_contain_text("PDF")
    expect(row.locator(".files")).to_contain_text("notes.txt")
    page.screenshot(path=OUTPUT / "files-history.png", full_page=True)

    # The other instance serves the same file; another person finds nothing there.
    here = page.request.get(f"{first.url}{address}")
    there = page.request.get(f"{second.url}{address}")
    assert here.status == there.status == 200
    assert here.body() == there.body() and here.headers["content-type"] == "image/png"
    stranger = new_page(browser, problems)
    make_account(stranger, invitation(page, first), "eve")
    for server in (first, second):
        assert stranger.request.get(f"{server.url}{address}").status == 404
        assert stranger.request.get(f"{server.url}{address}/thumbnail").status == 404


def test_without_javascript_the_plain_file_input_sends_the_files(browser: Browser, server, model):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url)
    page.set_input_files(
        "#attach", files=[{"name": "plan.txt", "mimeType": "text/plain", "buffer": b"Plan B."}]
    )
    page.get_by_label("Your question").fill("What is the plan?")
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(r"/c/\d+#exchange-\d+$"))
    expect(page.locator(".msg.question .files")).to_contain_text("plan.txt")
    assert "Plan B." in model.parts()[0]["text"]
    page.screenshot(path=OUTPUT / "files-without-javascript.png")
    context.close()


def test_a_large_upload_shows_its_progress_and_a_refusal_keeps_the_files(page: Page, server, model, problems):
    problems.allow("status of 422")
    page.add_init_script(WATCH_PROGRESS)
    page.goto(server.url)
    # Slow the upload down so that it reports its progress along the way (the page cannot tell).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1_500_000},
    )
    big = b"line of text\n" * 400_000
    page.set_input_files("#attach", files=[{"name": "big.log", "mimeType": "text/plain", "buffer": big}])
    page.get_by_label("Your question").fill("Anything odd in this log?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("article.answer .answer-meta").last).to_contain_text("fake-model", timeout=30_000)
    expect(page.locator(".composer-files progress")).to_be_hidden()
    shown = page.evaluate("window.__progress")
    assert shown and all(0 <= value < 100 for value in shown), shown
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    # The model here sees no image: the question is refused before anything is sent, the chip stays.
    sent = len(model.requests)
    page.set_input_files(
        "#attach", files=[{"name": "cat.png", "mimeType": "image/png", "buffer": samples.image()}]
    )
    page.get_by_label("Your question").fill("What is this?")
    page.get_by_label("Your question").press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("cannot see images")
    expect(page.locator(".chips .chip")).to_have_count(1)
    assert len(model.requests) == sent
