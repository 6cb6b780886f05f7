"""GPT Answers: ask a question, watch the answer stream in, find it stored."""

from __future__ import annotations

from quart import Quart

from . import answers, garbage, storage, web, webhooks
from .api import cors
from .config import ROOT, Config
from .files import init_app as init_files
from .settings import init_app as init_settings
from .storage import retention
from .web import templating


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
    garbage.init_app(app)
    cors.init_app(app)
    web.init_app(app)
    storage.init_app(app)
    # After storage, before what reads the settings as it starts: stored settings apply from the start.
    init_settings(app)
    retention.init_app(app)
    # After storage: events are routed once the database is open, delivery stops before it closes.
    webhooks.init_app(app)
    # After storage: answers start once the database is open, and are stored before it closes.
    answers.init_app(app)
    init_files(app)

    from .views import (
        accounts,
        admin,
        admin_settings,
        api,
        auth,
        chat,
        conversations,
        events,
        feedback,
        files,
        folders,
        groups,
        health,
        history,
        keeping,
        links,
        settings,
        shares,
        usage,
    )

    for blueprint in (chat.bp, conversations.bp, history.bp, health.bp, auth.bp, shares.bp, settings.bp):
        app.register_blueprint(blueprint)
    for blueprint in (
        accounts.bp,
        admin.bp,
        admin_settings.bp,
        groups.bp,
        links.bp,
        usage.bp,
        keeping.bp,
        folders.bp,
        api.bp,
        files.bp,
        events.bp,
        feedback.bp,
    ):
        app.register_blueprint(blueprint)
    templating.drop_flask_processors(app)
    return app
