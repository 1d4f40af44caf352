"""Who may call what, and how often.

Rules (see docs/http.md):

- **API** (`/api/*` except admin, `/v1/*`, `/openai/v1/*`): when `SIP_API_KEYS` is set,
  every request needs one of them as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
  Without keys the API is open, which is safe only because `sip serve` then refuses to
  listen on anything but loopback (:func:`is_loopback`).
- **Admin** (`/api/admin/*`, `/metrics`): `SIP_ADMIN_KEY` as `X-Sip-Admin-Key: <key>` or
  `Authorization: Bearer <key>`. With no keys at all ("local mode", loopback only) the
  console is open; with API keys but no admin key it is disabled (403 `admin_disabled`).
- **Web chat** (`/web/*`): open, so customers can use it; each visitor only reaches its own
  conversation (see :mod:`sipai.web.visitor`) and each client address is rate limited.

Keys are compared in constant time and only their fingerprints (`sha256:` + 12 hex digits)
ever reach logs or rate-limit buckets.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from sipai.config import Settings
from sipai.web.errors import ApiError
from sipai.web.ratelimit import RequestLimiter

_bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="an API key (SIP_API_KEYS) or, on admin routes, SIP_ADMIN_KEY")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey")
_admin_header = APIKeyHeader(name="X-Sip-Admin-Key", auto_error=False, scheme_name="adminKey")

Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def fingerprint(key: str) -> str:
    """A short, irreversible id of a key for logs and rate-limit buckets."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (`127.0.0.0/8`, `::1`, `localhost`)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The keys the server accepts, read once from settings."""

    api_keys: tuple[str, ...] = ()
    admin_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        """The policy `SIP_API_KEYS` and `SIP_ADMIN_KEY` describe."""
        admin = settings.sip_admin_key.get_secret_value() if settings.sip_admin_key else None
        return cls(tuple(k.get_secret_value() for k in settings.sip_api_keys), admin)

    @property
    def local_mode(self) -> bool:
        """No keys at all: everything is open and the server listens on loopback only."""
        return not self.api_keys and self.admin_key is None

    def match_api_key(self, presented: str | None) -> str | None:
        """The presented key's fingerprint if it is one of the API keys, else None."""
        if presented is None:
            return None
        found = False
        given = presented.encode()
        for key in self.api_keys:  # no early exit: the time does not depend on which matched
            found |= hmac.compare_digest(given, key.encode())
        return fingerprint(presented) if found else None

    def is_admin_key(self, presented: str | None) -> bool:
        """True when `presented` is the admin key."""
        if presented is None or self.admin_key is None:
            return False
        return hmac.compare_digest(presented.encode(), self.admin_key.encode())


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated API caller: which key (fingerprint), or "local" in local mode."""

    key_id: str


def policy_of(request: Request) -> AccessPolicy:
    """The app's access policy."""
    policy: AccessPolicy = request.app.state.access
    return policy


async def _wait_or_429(limiter: RequestLimiter, caller: str) -> None:
    wait = await limiter.check(caller)
    if wait > 0:
        raise ApiError(429, "rate_limited", "too many requests, slow down",
                       {"Retry-After": str(max(1, round(wait + 0.499)))})


async def api_caller(request: Request, bearer: Bearer,
                     api_key: Annotated[str | None, Depends(_api_key_header)]) -> Caller:
    """Authenticate an API request and count it against its key's rate limit."""
    policy = policy_of(request)
    if policy.api_keys:
        presented = bearer.credentials if bearer is not None else api_key
        key_id = policy.match_api_key(presented)
        if key_id is None:
            raise ApiError(401, "invalid_api_key",
                           "a valid API key is required (Authorization: Bearer <key>)",
                           {"WWW-Authenticate": "Bearer"})
    else:
        key_id = "local"
    await _wait_or_429(request.app.state.key_limiter, key_id)
    return Caller(key_id)


async def admin_caller(request: Request, bearer: Bearer,
                       admin_key: Annotated[str | None, Depends(_admin_header)]) -> None:
    """Allow the request only with the admin key (or in local mode)."""
    policy = policy_of(request)
    if policy.admin_key is None:
        if policy.local_mode:
            return
        raise ApiError(403, "admin_disabled", "the console is disabled: set SIP_ADMIN_KEY")
    presented = admin_key if admin_key is not None else (
        bearer.credentials if bearer is not None else None)
    if not policy.is_admin_key(presented):
        raise ApiError(401, "invalid_api_key", "the admin key is required (X-Sip-Admin-Key)",
                       {"WWW-Authenticate": "Bearer"})


async def web_client(request: Request) -> str:
    """Count a web-chat request against its client address's rate limit; the address."""
    address = request.client.host if request.client else "unknown"
    await _wait_or_429(request.app.state.client_limiter, address)
    return address


ApiCaller = Annotated[Caller, Depends(api_caller)]

__all__ = ["AccessPolicy", "ApiCaller", "Caller", "admin_caller", "api_caller", "fingerprint",
           "is_loopback", "policy_of", "web_client"]
