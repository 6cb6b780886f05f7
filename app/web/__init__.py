"""The app on the web: requests in, pages and fragments out, and what guards them."""

from __future__ import annotations

import errno

from quart import Quart, Response, current_app
from werkzeug.exceptions import NotFound

from .. import people
from ..people import proxy_user
from ..people.access import cookieless, public
from . import assets, compression, errors, guard, limits, request_log, security, templating, uploads
from .ids import IdConverter
from .proxies import trusted


def init_app(app: Quart) -> None:
    """Wrap the app in its guards and log; give it ids, files, sessions, limits, templates and error pages."""
    # Innermost middleware: static files answered from memory, then compression, then the guard;
    # the request log counts what the guard answers itself.
    assets.init_app(app)
    compression.init_app(app)
    guard.init_app(app)
    request_log.init_app(app)
    app.url_map.converters["int"] = IdConverter
    app.view_functions["static"] = _static_file
    # Bodies counted as they arrive, and the views that take files given their larger limit.
    uploads.init_app(app)
    # Before any other check: who the visitor is, and whether the view lets them in.
    people.init_app(app)
    security.init_app(app)
    # After security: the user header is checked against the proxy that really sent the request.
    networks = app.config["ANSWERS"].trusted_proxies
    proxy_user.init_app(app, lambda address: trusted(address, networks))
    limits.init_app(app)
    templating.init_app(app)
    errors.init_app(app)


@public
@cookieless
async def _static_file(filename: str) -> Response:
    """A file of static/; a name too long for any file is missing, like any other."""
    try:
        return await current_app.send_static_file(filename)
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:
            raise
        raise NotFound() from None
