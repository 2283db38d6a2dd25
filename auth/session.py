"""The one module that touches Streamlit's identity (st.user, st.login, st.logout and the [auth] secrets), and the one
session check that every script run, every fragment run and every download passes."""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.scriptrunner import RerunData, get_script_run_ctx
from streamlit.runtime.scriptrunner import script_runner as streamlit_script_runner

from auth.policy import SessionPolicy, cookie_secret_problem, session_refusal, signed_in_at
from auth.viewer import ClaimSettings, Viewer, claim_settings_from, pages_for, viewer_from_claims
from dashboard import settings
from dashboard.database import engine_for
from queries.audit import audit_services, record_event

logger = logging.getLogger(__name__)

MEMORY_KEY = "relais_session"

# Last activity of each sign-in (subject, sign-in time) in this server process, shared by its sessions: reloading
# the page starts a new session, and must not restart an idle clock. Replicas each keep their own (sticky sessions).
_last_seen: dict[tuple[str, float], float] = {}
_last_seen_lock = threading.Lock()


@dataclass
class SessionMemory:
    """What one browser session keeps of its sign-in: its last activity, and the refusal already audited."""

    last_activity: float = 0.0
    refusal: str | None = None


class SessionEnded(PermissionError):
    """The sign-in behind a download is no longer honoured: no file is made."""


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


def record_session_event(viewer: Viewer, action: str, detail: dict | None, page: str | None = None) -> None:
    """Audit a sign-in, a sign-out, a refused session or a refused page (the page asked for)."""
    # From any thread: a download is checked outside the script run, where st.cache_resource is not at hand.
    record_event(engine_for(settings.database_url()), subject=viewer.subject, roles=viewer.roles,
                 services=audit_services(viewer.scope), action=action, page=page, detail=detail)


def _checked(claims: Mapping, memory: SessionMemory, by_the_person: bool) -> Viewer | None:
    """The one session check: the viewer while these claims are honoured, else None, the refusal audited once."""
    now, policy, key = time.time(), session_policy(), _sign_in_key(claims)
    with _last_seen_lock:
        last = max(memory.last_activity, _last_seen.get(key, 0.0)) or None
        refusal = session_refusal(claims, now, last, policy)
        newly_refused = refusal is not None and refusal != memory.refusal
        # Once per sign-in in this process: a reload or a new tab is a new session of the same sign-in, not a new
        # sign-in (its page views are recorded as views). A restarted server records it once more.
        signing_in = refusal is None and by_the_person and key not in _last_seen
        memory.refusal = refusal
        # A timer's rerun is not activity: a queue left open on a screen must still go idle.
        if refusal is None and by_the_person:
            _last_seen[key] = memory.last_activity = now
            _forget_old_sign_ins(now, policy)
    viewer = viewer_from_claims(claims, claim_settings())
    if newly_refused:
        logger.info("session of %r refused: %s", viewer.subject, refusal)
        record_session_event(viewer, "session_refused", {"reason": refusal})
    if refusal is not None:
        return None
    if signing_in:
        record_session_event(viewer, "sign_in", {"signed_in_at": key[1]})
    return viewer


def _memory() -> SessionMemory:
    memory = st.session_state.get(MEMORY_KEY)
    if not isinstance(memory, SessionMemory):
        memory = st.session_state[MEMORY_KEY] = SessionMemory()
    return memory


def _claims() -> dict | None:
    if not st.user.get("is_logged_in", False) or cookie_problem():
        return None
    return st.user.to_dict()


def _this_rerun() -> RerunData | None:
    """What asked for the script run under way, as Streamlit's ScriptRunner received it."""
    # Streamlit has no public API for it: the ScriptRunner holds the run's RerunData in the frames that run the
    # script (the browser's ClientState.is_auto_rerun becomes its is_auto_rerun).
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == streamlit_script_runner.__file__:
            rerun = frame.f_locals.get("rerun_data")
            if isinstance(rerun, RerunData):
                return rerun
        frame = frame.f_back
    return None


def _by_the_person() -> bool:
    """Whether a person asked for this run: any whole-app run; a fragment's run unless its run_every timer did."""
    context = get_script_run_ctx()
    if context is None or not context.fragment_ids_this_run:
        return True
    rerun = _this_rerun()
    # Unknown (a Streamlit that runs fragments otherwise): not activity, so that an open queue still goes idle.
    return rerun is not None and not rerun.is_auto_rerun


def current_viewer() -> Viewer | None:
    """The signed-in viewer, or None when nobody is signed in or the sign-in is too old or idle (see refusal)."""
    claims = _claims()
    return None if claims is None else _checked(claims, _memory(), _by_the_person())


def refusal() -> str | None:
    """Why this browser's sign-in was refused at the last rerun ('undated', 'expired', 'idle'), or None."""
    return _memory().refusal


def fragment(body: Callable[..., None], *, run_every: float | None = None) -> Callable[..., None]:
    """st.fragment behind the session check: each of its runs, a click's or its timer's, is checked first."""

    @functools.wraps(body)
    def checked(*args, **kwargs):
        if current_viewer() is None:
            context = get_script_run_ctx()
            if context is not None and context.fragment_ids_this_run:
                # Nothing drawn, nothing written: the whole app runs again, and says why with the sign-in button.
                st.rerun(scope="app")
            st.stop()  # within a whole-app run: its next run starts with the sign-in page
        return body(*args, **kwargs)

    return st.fragment(checked, run_every=run_every)


def checked_download(make: Callable[[], bytes]) -> Callable[[], bytes]:
    """A download's file maker that first checks, when clicked, that this browser's sign-in is still honoured."""
    # Streamlit calls it in a worker thread, without the script run's context (st.user and st.session_state are
    # empty there): the claims and this session's memory are taken now, as the button is drawn.
    claims, memory = _claims(), _memory()

    def checked() -> bytes:
        if claims is None or _checked(claims, memory, by_the_person=True) is None:
            raise SessionEnded("the sign-in behind this download is no longer honoured: sign in again")
        return make()

    return checked


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
