"""Who may reach each view, declared on the view itself, and the check every request meets first."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from quart import abort, current_app, g, request

from ..config import current_config
from . import api_keys, identity, quotas

ACCESS = "access"
ASKS_MODEL = "asks_model"
COOKIELESS = "cookieless"


class Access(StrEnum):
    """The access a view declares; a route without one is kept behind the sign-in."""

    PUBLIC = "public"  # anyone, signed in or not
    SIGNED_IN = "signed in"  # anyone with SIGN_IN=none; else a person signed in
    ADMIN = "admin"  # an admin; anyone else finds nothing there (404)
    API_KEY = "api key"  # a program with a person's API key, never a browser's session (401 without)


class SignInFirst(Exception):
    """The view needs someone signed in, and nobody is."""


def public[View: Callable[..., Any]](view: View) -> View:
    """Declare a view reachable without signing in: the sign-in pages, invitation links, probes, files."""
    return _declare(view, Access.PUBLIC)


def signed_in_only[View: Callable[..., Any]](view: View) -> View:
    """Declare a view for the person signed in, when the app asks people to sign in."""
    return _declare(view, Access.SIGNED_IN)


def admin_only[View: Callable[..., Any]](view: View) -> View:
    """Declare a view for admins alone; an ordinary user learns nothing, not even that the page exists."""
    return _declare(view, Access.ADMIN)


def api_key_only[View: Callable[..., Any]](view: View) -> View:
    """Declare a view of the API: reached with an API key alone, no session, no cookie, no CSRF token."""
    return cookieless(_declare(view, Access.API_KEY))


def cookieless[View: Callable[..., Any]](view: View) -> View:
    """Declare a view for machines (probes, scrapers, files), which are handed no identity or cookie."""
    setattr(view, COOKIELESS, True)
    return view


def asks_model[**P, R](view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Declare a view that sends a question to the model: it shares the asking rate and keeps to quotas."""

    @functools.wraps(view)
    async def within_quotas(*args: P.args, **kwargs: P.kwargs) -> R:
        await quotas.check()
        return await view(*args, **kwargs)

    setattr(within_quotas, ASKS_MODEL, True)
    return within_quotas


def access_of(view: Callable[..., Any] | None) -> Access | None:
    """The access a view declared, or None."""
    return getattr(view, ACCESS, None)


def asks(view: Callable[..., Any] | None) -> bool:
    """Whether a view sends a question to the model."""
    return getattr(view, ASKS_MODEL, False)


def hands_identity(view: Callable[..., Any] | None) -> bool:
    """Whether a visitor reaching this view gets an identity (anything but files, probes and scrapers)."""
    return not getattr(view, COOKIELESS, False)


async def admit() -> None:
    """Give the visitor an identity and let them reach the view only as far as its access allows."""
    view = current_app.view_functions.get(request.endpoint or "")
    # A view that declares nothing, or an address no view answers, stays behind the sign-in.
    access = access_of(view) or Access.SIGNED_IN
    if access is Access.API_KEY:
        await api_keys.admit()
        return
    if hands_identity(view):
        identity.ensure()
    config = current_config()
    # Public pages still learn who is signed in, to show it; probes and files are not looked up.
    if config.sign_in_mode != "none" and (access is not Access.PUBLIC or hands_identity(view)):
        g.signed_in = await identity.check_signed_in()
        if not g.signed_in and access is not Access.PUBLIC:
            raise SignInFirst()
    if access is Access.ADMIN and not (config.accounts and identity.is_admin()):
        abort(404)


def _declare[View: Callable[..., Any]](view: View, access: Access) -> View:
    declared = access_of(view)
    if declared is not None:
        raise TypeError(f"{view.__qualname__} already declares {declared} access; a view declares one")
    setattr(view, ACCESS, access)
    return view
