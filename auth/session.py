"""The one module that touches Streamlit's identity: st.user, st.login, st.logout and the [auth] secrets."""

from __future__ import annotations

import logging

import streamlit as st

from auth.viewer import ClaimSettings, Viewer, claim_settings_from, pages_for, viewer_from_claims

logger = logging.getLogger(__name__)


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


def claim_settings() -> ClaimSettings:
    """How claims map to roles and services: [relais.claims] in the secrets, else the defaults."""
    relais = _secrets_section("relais") or {}
    return claim_settings_from(relais.get("claims"))


def current_viewer() -> Viewer | None:
    """The signed-in viewer, or None when nobody is signed in."""
    if not st.user.get("is_logged_in", False):
        return None
    return viewer_from_claims(st.user.to_dict(), claim_settings())


def log_in() -> None:
    """Send the browser to the identity provider."""
    st.login()


def log_out() -> None:
    """End the session here (the provider's session ends on its own page)."""
    st.logout()


def viewer_for_page(page: str) -> Viewer:
    """The viewer, if this page is theirs to see; anything else stops the script before a query runs."""
    viewer = current_viewer() if auth_configured() else None
    if viewer is None or page not in pages_for(viewer):
        logger.warning("page %r refused to %r", page, viewer and viewer.subject)
        st.stop()
    return viewer
