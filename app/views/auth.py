"""The optional password gate: signing in and out."""

from __future__ import annotations

from quart import Blueprint, Response, redirect, render_template, request, session, url_for

from ..config import current_config
from ..limits import limited_by
from ..security import new_identity, password_matches, safe_next, sign_in, signed_in

bp = Blueprint("auth", __name__)


@bp.get("/login")
async def login_form() -> Response | str:
    """Show the sign-in form (or go straight in when there is nothing to sign in to)."""
    target = safe_next(request.args.get("next"))
    if not current_config().app_password or signed_in():
        return redirect(target)
    return await render_template("auth/login.html", next=target)


@bp.post("/login")
@limited_by("login_rate")
async def login() -> Response | tuple[str, int]:
    """Check the password; on success start a fresh session and go where the visitor was headed."""
    form = await request.form
    target = safe_next(form.get("next"))
    if not current_config().app_password:
        return redirect(target, 303)
    if not password_matches(form.get("password", "")):
        page = await render_template("auth/login.html", next=target, error="That password is not right.")
        return page, 401
    sign_in()
    return redirect(target, 303)


@bp.post("/logout")
async def logout() -> Response:
    """Forget this browser's session; it must sign in again."""
    new_identity()
    session.pop("signed_in", None)
    return redirect(url_for("auth.login_form"), 303)
