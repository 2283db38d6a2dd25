"""The one module that touches Streamlit's identity: st.user, st.login, st.logout and the [auth] secrets."""

from __future__ import annotations

import logging
import threading
import time

import streamlit as st

from auth.policy import SessionPolicy, cookie_secret_problem, session_refusal, signed_in_at
from auth.viewer import ClaimSettings, Viewer, claim_settings_from, pages_for, viewer_from_claims
from dashboard import settings
from dashboard.web.audit import record_session_event

logger = logging.getLogger(__name__)

REFUSAL_KEY = "relais_session_refusal"
ACTIVITY_KEY = "relais_last_activity"

# Last activity of each sign-in (subject, sign-in time) in this server process, shared by its sessions: reloading
# the page starts a new session, and must not restart an idle clock. Replicas each keep their own (sticky sessions).
_last_seen: dict[tuple[str, float], float] = {}
_last_seen_lock = threading.Lock()


def _secrets_section(name: str):
    try:
        return st.secrets.get(name)
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None


def auth_configured() -> bool:
    """Whether an [auth] section with a provider is in the secrets."""
    # One provider, configured directly in [auth]: the sign-in button asks for the default one.
    section = _secrets_section("auth")
    return bool(section) and bool(section.get("server_metadata_url"))


def cookie_problem() -> str | None:
    """Why the configured cookie secret must not be trusted to sign identities, or None."""
    return cookie_secret_problem((_secrets_section("auth") or {}).get("cookie_secret"))


def claim_settings() -> ClaimSettings:
    """How claims map to roles and services: [relais.claims] in the secrets, else the defaults."""
    relais = _secrets_section("relais") or {}
    return claim_settings_from(relais.get("claims"))


def session_policy() -> SessionPolicy:
    """The configured session lifetime."""
    hours, minutes = settings.session_limits()
    return SessionPolicy(max_hours=hours, idle_minutes=minutes)


def _sign_in_key(claims: dict) -> tuple[str, float]:
    return str(claims.get("sub", "")), signed_in_at(claims) or 0.0


def _forget_old_sign_ins(now: float, policy: SessionPolicy) -> None:
    oldest = now - policy.max_hours * 3600
    for key in [key for key in _last_seen if key[1] < oldest]:
        del _last_seen[key]


def current_viewer() -> Viewer | None:
    """The signed-in viewer, or None when nobody is signed in or the sign-in is too old or idle (see refusal)."""
    if not st.user.get("is_logged_in", False) or cookie_problem():
        return None
    claims = st.user.to_dict()
    now, policy, key = time.time(), session_policy(), _sign_in_key(claims)
    with _last_seen_lock:
        first_session = key not in _last_seen
        last = max(st.session_state.get(ACTIVITY_KEY, 0.0), _last_seen.get(key, 0.0)) or None
        refusal = session_refusal(claims, now, last, policy)
        if refusal is None:
            _last_seen[key] = now
            _forget_old_sign_ins(now, policy)
    if refusal is not None:
        viewer = viewer_from_claims(claims, claim_settings())
        if st.session_state.get(REFUSAL_KEY) != refusal:
            logger.info("session of %r refused: %s", viewer.subject, refusal)
            record_session_event(viewer, "session_refused", {"reason": refusal})
        st.session_state[REFUSAL_KEY] = refusal
        return None
    st.session_state[ACTIVITY_KEY] = now
    st.session_state.pop(REFUSAL_KEY, None)
    viewer = viewer_from_claims(claims, claim_settings())
    if first_session:
        # Once per sign-in in this process: a reload or a new tab is a new session of the same sign-in, not a
        # new sign-in (its page views are recorded as views). A restarted server records it once more.
        record_session_event(viewer, "sign_in", {"signed_in_at": key[1]})
    return viewer


def refusal() -> str | None:
    """Why this browser's sign-in was refused at the last rerun ('undated', 'expired', 'idle'), or None."""
    return st.session_state.get(REFUSAL_KEY)


def log_in() -> None:
    """Send the browser to the identity provider."""
    st.login()


def log_out() -> None:
    """End the session here (the provider's session ends on its own page)."""
    if st.user.get("is_logged_in", False):
        record_session_event(viewer_from_claims(st.user.to_dict(), claim_settings()), "sign_out", None)
    st.logout()


def viewer_for_page(page: str) -> Viewer:
    """The viewer, if this page is theirs to see; anything else stops the script before a query runs."""
    viewer = current_viewer() if auth_configured() else None
    if viewer is None or page not in pages_for(viewer):
        logger.warning("page %r refused to %r", page, viewer and viewer.subject)
        if viewer is not None:
            record_session_event(viewer, "refused", None, page=page)
        st.stop()
    return viewer
