"""The optional password gate: signing in and out."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, render_template, request, url_for

from ..config import current_config
from ..web.addresses import return_address
from ..web.identity import password_matches, sign_in, sign_out, signed_in
from ..web.limits import limited_by

bp = Blueprint("auth", __name__)


@bp.get("/login")
async def login_form() -> Response | str:
    """Show the sign-in form (or go straight in when there is nothing to sign in to)."""
    target = _next(request.args.get("next"))
    if not current_config().app_password or signed_in():
        return redirect(target)
    return await render_template("auth/login.html", next=target)


@bp.post("/login")
@limited_by("login_rate")
async def login() -> Response | tuple[str, int]:
    """Check the password; on success start a fresh session and go where the visitor was headed."""
    form = await request.form
    target = _next(form.get("next"))
    if not current_config().app_password:
        return redirect(target, 303)
    if not password_matches(form.get("password", "")):
        page = await render_template("auth/login.html", next=target, error="That password is not right.")
        return page, 401
    await sign_in()
    return redirect(target, 303)


@bp.post("/logout")
async def logout() -> Response:
    """End this browser's session on the server; it (and any copy of its cookie) must sign in again."""
    await sign_out()
    return redirect(url_for("auth.login_form"), 303)


def _next(target: str | None) -> str:
    """A same-site path to return to after signing in; anything else means the chat page."""
    return return_address(target) or url_for("chat.index")
