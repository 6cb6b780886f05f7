"""GPT Answers: ask a question, watch the answer stream in, find it stored."""

from __future__ import annotations

from quart import Quart

from . import answering, errors, limits, llm, logs, security, storage, templating
from .config import ROOT, Config
from .ids import IdConverter


def create_app(config: Config | None = None) -> Quart:
    """Build the app from settings (read from the environment when none are given)."""
    config = config or Config.from_env()
    app = Quart(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(config.instance_path),
    )
    app.config.update(
        ANSWERS=config,
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.jinja_env.globals.update(model_name=config.model_name, max_question_chars=config.max_question_chars)

    logs.init_app(app)
    app.url_map.converters["int"] = IdConverter
    security.init_app(app)
    limits.init_app(app)
    # Before storage: running answers are stored at shutdown, before the database closes.
    answering.init_app(app)
    storage.init_app(app)
    llm.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from .views import auth, chat, conversations, health, history

    app.register_blueprint(chat.bp)
    app.register_blueprint(conversations.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    templating.drop_flask_processors(app)
    return app
