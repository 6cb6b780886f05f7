"""Baseline: the same feature written the classic way, synchronous Flask under gunicorn.

A question is posted, stored, answered in full by the (sync) openai SDK, stored again,
and the page comes back when the answer is complete — one request per worker at a time.
Run with `gunicorn -w 4 bench.flask_baseline:app` and LLM_BASE_URL / DATABASE_PATH set.
"""

from __future__ import annotations

import os
import sqlite3
from html import escape

import openai
from flask import Flask, g, request

app = Flask(__name__)
client = openai.OpenAI(api_key="bench", base_url=os.environ["LLM_BASE_URL"], max_retries=0)


def db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(os.environ["DATABASE_PATH"], timeout=30)
        g.db.execute("PRAGMA journal_mode=WAL")
        g.db.execute(
            "CREATE TABLE IF NOT EXISTS exchanges (id INTEGER PRIMARY KEY, question TEXT, answer TEXT)"
        )
    return g.db


@app.teardown_appcontext
def close_db(_error: BaseException | None) -> None:
    if (connection := g.pop("db", None)) is not None:
        connection.close()


@app.post("/ask")
def ask() -> str:
    question = request.form["question"]
    cursor = db().execute("INSERT INTO exchanges (question) VALUES (?)", (question,))
    db().commit()
    parts = []
    for chunk in client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": question}], stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    answer = "".join(parts)
    db().execute("UPDATE exchanges SET answer = ? WHERE id = ?", (answer, cursor.lastrowid))
    db().commit()
    return f"<p>{escape(question)}</p><p>{escape(answer)}</p>"
