"""OpenID Connect sign-in: the authorization code flow with state, nonce and PKCE, the ID token checked."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode, urlsplit

import aiohttp
from quart import Quart, current_app

from ..config import Config

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

# The provider's settings and keys are read again after this long (keys rotate).
DISCOVERY_SECONDS = 3600
TIMEOUT = aiohttp.ClientTimeout(total=10)


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message is for the log, not the visitor."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in."""

    subject: str
    name: str
    email: str | None
    email_verified: bool
    # The groups the provider's groups claim names (OIDC_GROUPS_CLAIM); None: it says nothing of them.
    groups: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the browser keeps between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Attempt:
        """Fresh random values for one sign-in."""
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))


class Provider:
    """One OpenID provider: its discovered endpoints and keys, and one HTTP client for them."""

    def __init__(self, config: Config) -> None:
        self.issuer = config.oidc_issuer
        self.client_id = config.oidc_client_id
        self.client_secret = config.oidc_client_secret
        self.scopes = config.oidc_scopes
        self.groups_claim = config.oidc_groups_claim
        self.group_names = dict(config.oidc_group_names)
        self.http: aiohttp.ClientSession | None = None
        self._metadata: dict[str, Any] = {}
        self._keys: KeySet | None = None
        self._read_at = 0.0

    async def open(self) -> None:
        self.http = aiohttp.ClientSession(timeout=TIMEOUT)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def authorization_url(self, attempt: Attempt, redirect_uri: str) -> str:
        """Where to send the browser to sign in."""
        metadata = await self._discover()
        endpoint = str(metadata.get("authorization_endpoint", ""))
        if urlsplit(endpoint).netloc != urlsplit(self.issuer).netloc:
            raise SignInFailed(f"the authorization endpoint {endpoint!r} is not on the issuer's site")
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.scopes,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": code_challenge(attempt.verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def identity(self, attempt: Attempt, code: str, redirect_uri: str) -> Identity:
        """Trade the code for tokens and return who the verified ID token names."""
        metadata = await self._discover()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": attempt.verifier,
            "client_id": self.client_id,
        }
        headers = {"Authorization": self._basic_auth()} if self.client_secret else {}
        tokens = await self._json("POST", metadata["token_endpoint"], data=form, headers=headers)
        if not isinstance(tokens.get("id_token"), str):
            raise SignInFailed(f"no id_token in the token response: {sorted(tokens)}")
        claims = await self._verified_claims(tokens["id_token"], attempt.nonce)
        # Only the JSON true: a missing claim, "true", 1 or "false" say nothing the provider checked.
        verified = claims.get("email_verified") is True
        email = claims.get("email") if verified and isinstance(claims.get("email"), str) else None
        name = claims.get("preferred_username") or email or claims["sub"]
        return Identity(
            subject=str(claims["sub"]),
            name=str(name),
            email=email.lower() if email else None,
            email_verified=verified,
            groups=claimed_groups(claims, self.groups_claim, self.group_names),
        )

    def _basic_auth(self) -> str:
        # RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined and encoded.
        pair = f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret)}"
        return "Basic " + base64.b64encode(pair.encode()).decode("ascii")

    async def _verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        # joserfc and its cryptography load when someone signs in: an app without OpenID saves 11 MB.
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            try:
                token = jwt.decode(id_token, await self._key_set())
            except (JoseError, ValueError):
                # Signed with a key the provider rotated in since they were read: read them once more.
                token = jwt.decode(id_token, await self._key_set(fresh=True))
        except (JoseError, ValueError) as error:
            raise SignInFailed(f"the ID token's signature does not hold: {error!r}") from None
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
            leeway=60,
        )
        try:
            registry.validate(token.claims)
        except JoseError as error:
            raise SignInFailed(f"the ID token does not hold: {error}") from None
        self._check_party(token.claims)
        return token.claims

    def _check_party(self, claims: dict[str, Any]) -> None:
        """A token for several audiences, or naming its authorized party, must have been issued to us."""
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        party = claims.get("azp")
        if (len(audiences) > 1 or party is not None) and party != self.client_id:
            raise SignInFailed(f"the ID token was issued to {party!r} (audiences {audiences!r}), not to us")

    async def _discover(self, fresh: bool = False) -> dict[str, Any]:
        if fresh or not self._metadata or time.monotonic() - self._read_at > DISCOVERY_SECONDS:
            metadata = await self._json("GET", f"{self.issuer}/.well-known/openid-configuration")
            if metadata.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInFailed(
                    f"the provider calls itself {metadata.get('issuer')!r}, not {self.issuer!r}"
                )
            self._metadata, self._keys, self._read_at = metadata, None, time.monotonic()
        return self._metadata

    async def _key_set(self, fresh: bool = False) -> KeySet:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        metadata = await self._discover(fresh)
        if self._keys is None:
            found = await self._json("GET", metadata["jwks_uri"])
            keys = found.get("keys")
            if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
                raise SignInFailed(f"the provider's key set lists no keys: {sorted(found)}")
            try:
                self._keys = KeySet.import_key_set({"keys": keys})
            except (JoseError, ValueError, KeyError) as error:
                raise SignInFailed(f"the provider's key set cannot be read: {error!r}") from None
        return self._keys

    async def _json(self, method: str, url: str, **options: Any) -> dict[str, Any]:
        assert self.http is not None
        try:
            async with self.http.request(method, url, **options) as response:
                body = await response.json(content_type=None)
                if response.status != 200 or not isinstance(body, dict):
                    raise SignInFailed(f"{method} {url} answered {response.status}")
                return body
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise SignInFailed(f"{method} {url} failed: {error!r}") from None


def code_challenge(verifier: str) -> str:
    """PKCE's S256 challenge of a verifier (RFC 7636 §4.2): its SHA-256, base64url without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def claimed_groups(claims: dict[str, Any], claim: str, names: dict[str, str]) -> tuple[str, ...] | None:
    """The names of the groups an ID token's groups claim lists: through `names` (OIDC_GROUP_NAMES, for
    providers that send ids) when given, which then leaves out the ids it does not name.

    None when no claim is configured, or when the provider left the groups out for being too many
    (Entra ID's overage: `_claim_names` points elsewhere): the person's memberships then stay as they were.
    A token without the claim lists no groups.
    """
    if not claim:
        return None
    overage = claims.get("_claim_names")
    if claim not in claims and isinstance(overage, dict) and claim in overage:
        log.warning("the ID token's %s claim was left out for too many groups; memberships stay", claim)
        return None
    listed = claims.get(claim, [])
    values = [listed] if isinstance(listed, str) else listed if isinstance(listed, list) else []
    found = (
        (names.get(value) if names else value) for value in values if isinstance(value, str) and value.strip()
    )
    return tuple(dict.fromkeys(name for name in found if name))


def init_app(app: Quart) -> None:
    """Keep one provider client for the app's life when SIGN_IN=oidc."""
    config: Config = app.config["ANSWERS"]
    if config.sign_in_mode != "oidc":
        return

    @app.while_serving
    async def provider() -> AsyncGenerator[None]:
        client = Provider(config)
        await client.open()
        app.extensions["oidc"] = client
        try:
            yield
        finally:
            del app.extensions["oidc"]
            await client.close()


def provider() -> Provider:
    """The current app's OpenID provider client."""
    return current_app.extensions["oidc"]
