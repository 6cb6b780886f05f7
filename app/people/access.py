"""Who may reach each view, declared on the view itself, and the check every request meets first."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from quart import abort, current_app, g, request

from ..config import current_config
from . import api_keys, identity, quotas
from .passwords import digest

ACCESS = "access"
ASKS_MODEL = "asks_model"
COOKIELESS = "cookieless"


class Access(StrEnum):
    """The access a view declares; a route without one is kept behind the sign-in."""

    PUBLIC = "public"  # anyone, signed in or not
    SIGNED_IN = "signed in"  # anyone with SIGN_IN=none; else a person signed in
    ADMIN = "admin"  # an admin; anyone else finds nothing there (404)
    # The app's figures: METRICS_TOKEN as a bearer token, or an admin; with neither accounts
    # nor METRICS_TOKEN there is nobody to keep them from, and they are as SIGNED_IN.
    OPERATOR = "operator"
    API_KEY = "api key"  # a program with a person's API key, never a browser's session (401 without)


class SignInFirst(Exception):
    """The view needs someone signed in, and nobody is."""


class BearerRefused(Exception):
    """A machine's bearer token is missing or wrong."""


def public[View: Callable[..., Any]](view: View) -> View:
    """Declare a view reachable without signing in: the sign-in pages, invitation links, probes, files."""
    return _declare(view, Access.PUBLIC)


def signed_in_only[View: Callable[..., Any]](view: View) -> View:
    """Declare a view for the person signed in, when the app asks people to sign in."""
    return _declare(view, Access.SIGNED_IN)


def admin_only[View: Callable[..., Any]](view: View) -> View:
    """Declare a view for admins alone; an ordinary user learns nothing, not even that the page exists."""
    return _declare(view, Access.ADMIN)


def operators_only[View: Callable[..., Any]](view: View) -> View:
    """Declare a view for operators: a scraper with METRICS_TOKEN, or an admin."""
    return _declare(view, Access.OPERATOR)


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
        if asks(view):
            await quotas.load()
        return
    if hands_identity(view):
        identity.ensure()
    config = current_config()
    if access is Access.OPERATOR:
        if bearer_matches():
            return
        if request.headers.get("Authorization") or (config.metrics_token and not config.accounts):
            raise BearerRefused()
        access = Access.ADMIN if config.accounts else Access.SIGNED_IN
    # Public pages still learn who is signed in, to show it; probes and files are not looked up.
    if config.sign_in_mode != "none" and (access is not Access.PUBLIC or hands_identity(view)):
        g.signed_in = await identity.check_signed_in()
        if not g.signed_in and access is not Access.PUBLIC:
            raise SignInFirst()
    if access is Access.ADMIN and not (config.accounts and identity.is_admin()):
        abort(404)
    if asks(view):
        # Before the asking rate is counted: the person's groups may give them another.
        await quotas.load()


def bearer_matches() -> bool:
    """Whether the request carries METRICS_TOKEN as its bearer token (compared in constant time)."""
    expected = current_config().metrics_token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(digest(given.strip()), digest(expected))
    )


async def operator() -> bool:
    """Whether the request may read the app's figures in full (what OPERATOR views let in)."""
    if bearer_matches():
        return True
    config = current_config()
    if config.accounts:
        return await identity.check_signed_in() and identity.is_admin()
    if config.metrics_token:
        return False
    return config.sign_in_mode == "none" or await identity.check_signed_in()


def _declare[View: Callable[..., Any]](view: View, access: Access) -> View:
    declared = access_of(view)
    if declared is not None:
        raise TypeError(f"{view.__qualname__} already declares {declared} access; a view declares one")
    setattr(view, ACCESS, access)
    return view
