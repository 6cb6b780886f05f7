"""Files in a question, on both engines: what the model gets, what is kept, who may fetch it, and limits."""

from __future__ import annotations

import base64
import html
import io
import re

import pytest
from PIL import Image

from app import messages
from app.files import kinds, receiving
from app.storage import retention
from tests import samples
from tests.conftest import Visitor, parse_events

EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
FILE_LINK = re.compile(r'href="/files/(\d+)"')
sees = pytest.mark.settings(vision_models=("fake-model",))


async def ask_with(visitor: Visitor, question: str, files: list[tuple[str, bytes]], **fields: str):
    """Post the composer's form with files, as htmx sends it (multipart, the token in a header)."""
    form = {"question": question, "conversation_id": "", "csrf_token": visitor.csrf, **fields}
    body, kind = samples.multipart(form, files)
    return await visitor.client.post(
        "/ask", data=body, headers={"Content-Type": kind, "HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    )


async def asked(visitor: Visitor, question: str, files: list[tuple[str, bytes]], **fields: str) -> int:
    """Ask with files, read the answer's stream to its end; the exchange's id."""
    response = await ask_with(visitor, question, files, **fields)
    page = await response.get_data(as_text=True)
    assert response.status_code == 200, page
    exchange_id = int(EXCHANGE_ID.search(page).group(1))
    events = await visitor.stream(exchange_id)
    assert events[-1][0] == "done"
    return exchange_id


async def said(response) -> str:
    """What a response says, as a person reads it (entities decoded)."""
    return html.unescape(await response.get_data(as_text=True))


async def count(db, table: str) -> int:
    return (await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}"))["n"]


def image_in(part: dict) -> Image.Image:
    url = part["image_url"]["url"]
    assert url.startswith("data:image/")
    return Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2])))


@sees
async def test_an_image_reaches_the_model_as_an_image_part_upright_and_without_metadata(visitor, model):
    await asked(visitor, "What colour is this?", [("holiday.jpg", samples.photo_turned((80, 40)))])
    parts = model.parts()
    assert parts[0] == {"type": "text", "text": "What colour is this?"}
    assert [part["type"] for part in parts] == ["text", "image_url"]
    picture = image_in(parts[1])
    assert picture.size == (40, 80)  # turned as its EXIF said
    assert not picture.getexif()  # no camera, no software, no place


@sees
async def test_a_gif_is_sent_as_its_first_frame(visitor, model):
    await asked(visitor, "What is this?", [("moving.gif", samples.animated_gif())])
    picture = image_in(model.parts()[1]).convert("RGB")
    assert picture.getpixel((5, 5)) == (0, 128, 0)


async def test_a_pdfs_text_reaches_the_model_under_its_name(visitor, model):
    report = samples.pdf(["Quarterly report", "The secret number is 4217."])
    await asked(visitor, "What is the secret number?", [("report.pdf", report)])
    (text,) = model.parts()
    assert '<file name="report.pdf" type="PDF" pages="2">' in text["text"]
    assert "The secret number is 4217." in text["text"]
    assert text["text"].endswith("What is the secret number?")


async def test_word_and_text_files_reach_the_model(visitor, model):
    document = samples.docx(["Minutes of the meeting", "Decided: ship on Friday."], [["who", "what"]])
    table = b"name,score\nAda,3\nGrace,5\n"
    await asked(visitor, "Summarise", [("minutes.docx", document), ("scores.csv", table)])
    (text,) = model.parts()
    assert "Decided: ship on Friday." in text["text"] and "who | what" in text["text"]
    assert '<file name="scores.csv" type="text">\nname,score\nAda,3' in text["text"]


@pytest.mark.settings(file_text_chars=400)
async def test_a_long_pdf_is_cut_and_both_the_model_and_the_page_say_so(visitor, model):
    pages = [f"Page {n} " + "words " * 30 for n in range(1, 31)]
    exchange_id = await asked(visitor, "Summarise", [("long.pdf", samples.pdf(pages))])
    (text,) = model.parts()
    read = text["text"].count("[page ")
    assert 0 < read < 30
    note = f"Only the first {read} of 30 pages were read."
    assert note in text["text"]
    page = await visitor.open(f"/c/{await conversation_of(visitor, exchange_id)}")
    assert note in page


async def conversation_of(visitor: Visitor, exchange_id: int) -> int:
    db = visitor.client.app.extensions["db"]
    return (await db.fetch_one("SELECT conversation_id FROM exchanges WHERE id = :id", {"id": exchange_id}))[
        "conversation_id"
    ]


async def test_later_questions_in_the_chat_still_see_the_file(visitor, model):
    first = await asked(visitor, "Read this", [("note.txt", b"The meeting is on Tuesday.")])
    conversation = await conversation_of(visitor, first)
    response = await visitor.ask("When is the meeting?", conversation)
    second = int(EXCHANGE_ID.search(await response.get_data(as_text=True)).group(1))
    await visitor.stream(second)
    earlier = model.parts(message=1)[0]["text"]
    assert "The meeting is on Tuesday." in earlier and earlier.endswith("Read this")
    assert model.parts() == [{"type": "text", "text": "When is the meeting?"}]


@pytest.mark.settings(vision_models=("gpt-4o*",))
async def test_an_image_for_a_model_that_cannot_see_is_refused_before_anything_is_sent(visitor, model, db):
    response = await ask_with(visitor, "What is this?", [("cat.png", samples.image())])
    assert response.status_code == 422
    assert messages.cannot_see("fake-model") in await said(response)
    assert model.requests == []
    assert await count(db, "exchanges") == 0 and await count(db, "attachments") == 0


async def test_the_type_comes_from_the_bytes_not_the_name(visitor, model):
    await asked(visitor, "What is it?", [("picture.png", samples.pdf(["Not a picture at all."]))])
    assert "Not a picture at all." in model.parts()[0]["text"]
    response = await ask_with(visitor, "And this?", [("notes.txt", b"MZ\x90\x00" + b"\x00" * 64)])
    assert response.status_code == 422
    assert messages.file_unsupported("notes.txt") in await said(response)


@sees
async def test_a_file_is_served_to_its_owner_and_to_nobody_else(visitor, app, model):
    photo = samples.image("PNG", (30, 20), "green")
    exchange_id = await asked(visitor, "Look", [("green.png", photo), ("plan.pdf", samples.pdf(["plan"]))])
    page = await visitor.open(f"/c/{await conversation_of(visitor, exchange_id)}")
    image_id, pdf_id = (int(found) for found in FILE_LINK.findall(page))
    shown = await visitor.client.get(f"/files/{image_id}")
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.headers["Content-Security-Policy"].startswith("default-src 'none';")
    assert Image.open(io.BytesIO(await shown.get_data())).size == (30, 20)
    downloaded = await visitor.client.get(f"/files/{pdf_id}")
    assert "default-src 'self'" in downloaded.headers["Content-Security-Policy"]
    assert downloaded.headers["Content-Disposition"].startswith('attachment; filename="plan.pdf"')
    assert (await downloaded.get_data()).startswith(b"%PDF-")
    assert (await visitor.client.get(f"/files/{image_id}/thumbnail")).status_code == 200
    stranger = Visitor(app.test_client())
    await stranger.open()
    for address in (
        f"/files/{image_id}",
        f"/files/{pdf_id}",
        f"/files/{image_id}/thumbnail",
        "/files/999999",
    ):
        assert (await stranger.client.get(address)).status_code == 404


async def test_html_and_svg_are_kept_as_text_and_never_shown_inline(visitor, model):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    exchange_id = await asked(
        visitor, "What is it?", [("drawing.svg", svg), ("page.html", b"<script>x</script>")]
    )
    page = await visitor.open(f"/c/{await conversation_of(visitor, exchange_id)}")
    for found in FILE_LINK.findall(page):
        served = await visitor.client.get(f"/files/{found}")
        assert served.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert served.headers["Content-Disposition"].startswith("attachment;")


async def test_hostile_names_are_shown_escaped_and_kept_safely(visitor, model, db):
    names = ["../../etc/passwd", "<img src=x onerror=alert(1)>.txt", "n" * 5000 + ".txt"]
    exchange_id = await asked(visitor, "Names", [(name, b"hello") for name in names])
    page = await visitor.open(f"/c/{await conversation_of(visitor, exchange_id)}")
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.txt" in page
    kept = [row["name"] for row in await db.fetch_all("SELECT name FROM attachments ORDER BY id")]
    assert kept[:2] == names[:2]
    assert len(kept[2]) == 255 and kept[2].endswith("….txt")
    first = FILE_LINK.findall(page)[0]
    header = (await visitor.client.get(f"/files/{first}")).headers["Content-Disposition"]
    assert header == "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"


@pytest.mark.settings(max_upload_mb=1, max_upload_mb_per_question=2, max_files_per_question=2)
async def test_files_past_the_limits_are_refused_with_nothing_stored(visitor, model, db):
    big = b"a" * (1024 * 1024 + 1)
    cases = [
        ([("big.txt", big)], messages.file_too_large("big.txt", len(big), 1)),
        ([("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")], messages.too_many_files(3, 2)),
        ([("empty.txt", b"")], messages.file_empty("empty.txt")),
    ]
    for files, message in cases:
        response = await ask_with(visitor, "Too much", files)
        assert response.status_code == 422
        assert message in await said(response)
    assert await count(db, "attachments") == 0 and model.requests == []


@pytest.mark.settings(upload_mb_per_day=1)
async def test_a_days_files_are_held_to_the_quota(visitor, model, db):
    half = b"b" * (600 * 1024)
    await asked(visitor, "First", [("one.txt", half)])
    response = await ask_with(visitor, "Second", [("two.txt", half)])
    assert response.status_code == 422
    assert "today's 1 MB of files" in await said(response)
    assert await count(db, "attachments") == 1


async def test_an_upload_cut_short_stores_nothing(visitor, model, db):
    form = {"question": "Cut", "conversation_id": "", "csrf_token": visitor.csrf}
    body, kind = samples.multipart(form, [("long.txt", b"x" * 200_000)])
    response = await visitor.client.post(
        "/ask", data=body[: len(body) // 2], headers={"Content-Type": kind, "X-CSRF-Token": visitor.csrf}
    )
    assert response.status_code == 400
    assert messages.UPLOAD_CUT in await said(response)
    assert await count(db, "attachments") == 0 and await count(db, "exchanges") == 0


async def delete_chat(visitor: Visitor, exchange_id: int) -> None:
    conversation = await conversation_of(visitor, exchange_id)
    response = await visitor.client.post(
        f"/c/{conversation}/delete", headers={"HX-Request": "true", "X-CSRF-Token": visitor.csrf}
    )
    assert response.status_code == 200


async def test_a_deleted_chats_files_are_hidden_from_its_owner_and_kept_for_the_operator(visitor, model, db):
    exchange_id = await asked(visitor, "Keep", [("a.txt", b"a" * 700_000)])
    address = "/files/" + FILE_LINK.search(await visitor.open("/list")).group(1)
    assert (await visitor.client.get(address)).status_code == 200
    await delete_chat(visitor, exchange_id)
    assert (await visitor.client.get(address)).status_code == 404
    assert await count(db, "attachment_chunks") == 2


@pytest.mark.settings(delete_erases=True)
async def test_erasing_the_chat_or_the_person_removes_the_bytes(visitor, model, db):
    exchange_id = await asked(visitor, "Keep", [("a.txt", b"a" * 700_000)])
    assert await count(db, "attachment_chunks") == 2
    await delete_chat(visitor, exchange_id)
    assert await count(db, "attachments") == 0 and await count(db, "attachment_chunks") == 0
    await asked(visitor, "Again", [("b.txt", b"b")])
    owner = (await db.fetch_one("SELECT owner FROM attachments"))["owner"]
    await retention.erase_owner(db, owner)
    assert await count(db, "attachments") == 0 and await count(db, "attachment_chunks") == 0


async def test_retention_removes_the_bytes_with_the_exchange(visitor, model, db):
    await asked(visitor, "Old", [("old.txt", b"old")])
    await db.execute("UPDATE exchanges SET created_at = '2001-01-01 00:00:00.000000'")
    await retention.sweep(db, days=30)
    assert await count(db, "attachments") == 0 and await count(db, "attachment_chunks") == 0


async def test_files_no_question_took_are_swept(visitor, model, db):
    stored = await receiving.receive(
        db,
        "someone",
        [receiving.Upload("left.txt", io.BytesIO(b"left behind"))],
        visitor.client.app.config["ANSWERS"],
        False,
        "m",
    )
    assert len(stored) == 1
    assert await receiving.sweep_unattached(db, older_than=3600) == 0
    assert await receiving.sweep_unattached(db, older_than=-1) == 1
    assert await count(db, "attachment_chunks") == 0


async def test_the_same_form_sent_twice_keeps_one_copy_of_its_files(visitor, model, db):
    fields = {"ask_key": "the-one-key"}
    first = await ask_with(visitor, "Twice", [("t.txt", b"twice")], **fields)
    second = await ask_with(visitor, "Twice", [("t.txt", b"twice")], **fields)
    assert first.status_code == second.status_code == 200
    assert await count(db, "exchanges") == 1 and await count(db, "attachments") == 1
    events = parse_events(await (await visitor.client.get("/answers/1/stream")).get_data(as_text=True))
    assert events[-1][0] == "done"


@sees
async def test_the_history_shows_each_questions_files(visitor, model):
    await asked(visitor, "Both", [("shot.png", samples.image()), ("minutes.txt", b"minutes")])
    page = await visitor.open("/list")
    assert 'class="file-name"' in page and ">shot.png</a>" in page and ">minutes.txt</a>" in page
    assert re.search(r'<img src="/files/\d+/thumbnail" alt="shot.png"', page)
    assert "text · 7 bytes" in page


async def test_exports_name_the_files(visitor, model):
    exchange_id = await asked(visitor, "Export me", [("report.pdf", samples.pdf(["r"])), ("b.txt", b"b")])
    csv_text = await (await visitor.client.get("/list/export.csv")).get_data(as_text=True)
    header, row = csv_text.splitlines()[:2]
    assert header.endswith(",files") and row.endswith(",report.pdf; b.txt")
    ndjson = await (await visitor.client.get("/list/export.ndjson")).get_data(as_text=True)
    assert '"files":"report.pdf; b.txt"' in ndjson
    conversation = await conversation_of(visitor, exchange_id)
    markdown = await (await visitor.client.get(f"/c/{conversation}/export.md")).get_data(as_text=True)
    assert "- Attached: report.pdf (application/pdf," in markdown
    assert "- Attached: b.txt (text/plain," in markdown


async def test_a_shared_copy_names_the_files_but_does_not_share_them(visitor, app, model):
    exchange_id = await asked(visitor, "Share me", [("private.txt", b"private words")])
    conversation = await conversation_of(visitor, exchange_id)
    response = await visitor.client.post(
        f"/c/{conversation}/share", form={"csrf_token": visitor.csrf}, headers={"X-CSRF-Token": visitor.csrf}
    )
    assert response.status_code == 303
    manage = await visitor.open(f"/c/{conversation}/share")
    token = re.search(r"/s/([\w-]+)", manage).group(1)
    reader = Visitor(app.test_client())
    await reader.open()
    shared = html.unescape(await reader.open(f"/s/{token}"))
    assert f"{messages.FILES_NOT_SHARED} private.txt" in shared
    assert "/files/" not in shared and "private words" not in shared


@pytest.mark.settings(llm_models=("fake-model", "blind-model"), vision_models=("fake-model",))
async def test_regenerating_an_image_question_with_a_blind_model_is_refused(visitor, model):
    exchange_id = await asked(visitor, "What is it?", [("cat.png", samples.image())])
    blind = re.search(r'value="(blind-model@[^"]+)"', await visitor.open("/")).group(1)
    sent = len(model.requests)
    response = await visitor.client.post(
        f"/answers/{exchange_id}/regenerate",
        form={"model": blind, "csrf_token": visitor.csrf},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert messages.cannot_see("blind-model") in await said(response)
    assert len(model.requests) == sent
    form = {"csrf_token": visitor.csrf}
    again = await visitor.client.post(
        f"/answers/{exchange_id}/regenerate", form=form, headers={"HX-Request": "true"}
    )
    new_id = int(re.findall(r'id="answer-(\d+)"', await again.get_data(as_text=True))[-1])
    await visitor.stream(new_id)
    assert [part["type"] for part in model.parts()] == ["text", "image_url"]


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (samples.image("PNG"), "image/png"),
        (samples.image("JPEG"), "image/jpeg"),
        (samples.image("WEBP"), "image/webp"),
        (samples.image("GIF"), "image/gif"),
        (b"  \n%PDF-1.7\n", "application/pdf"),
        (samples.docx(["x"])[:8192], kinds.DOCX.media_type),
        ("naïve café, ünïcode\n".encode(), "text/plain; charset=utf-8"),
        ("ñ".encode() * 4095 + b"\xc3", "text/plain; charset=utf-8"),
        ("Grüße aus Köln".encode("cp1252"), "text/plain; charset=utf-8"),
        ("\ufeffhello".encode("utf-16"), "text/plain; charset=utf-8"),
        (b"", None),
        (b"\x00\x01\x02binary", None),
        (b"MZ\x90\x00\x03", None),
    ],
)
def test_a_files_kind_is_told_from_its_first_bytes(head, kind):
    found = kinds.sniff(head[:8192])
    assert (found.media_type if found else None) == kind
