"""The Streamlit entry point: sign-in, then the pages the viewer's roles allow, and nothing else."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from auth import session
from auth.viewer import Viewer, pages_for
from dashboard.secret_strength import SECRET_RECIPE
from dashboard.settings import PROJECT_ROOT
from dashboard.web.language import language_switch, tr

PAGES_DIR = PROJECT_ROOT / "pages"
FAVICON = PROJECT_ROOT / "dashboard" / "favicon.svg"
PAGE_ICONS = {
    "queue": ":material/pending_actions:",
    "overview": ":material/monitoring:",
    "outreach": ":material/call:",
    "report": ":material/summarize:",
    "data": ":material/database:",
    "audit": ":material/policy:",
    "definitions": ":material/menu_book:",
}
MAX_RECORDED_PATH = 100


def _page(key: str) -> st.Page:
    return st.Page(str(PAGES_DIR / f"{key}.py"), title=tr(f"page.{key}"), icon=PAGE_ICONS[key], url_path=key)


def _requested_path() -> str:
    """The URL path this browser asked for ('' for the root)."""
    # Streamlit has no public API for it: when a path is not among st.navigation's pages, it runs the default page.
    context = get_script_run_ctx()
    return (context.pages_manager.intended_page_name or "") if context else ""


def _landing(first: st.Page, viewer: Viewer) -> st.Page:
    """The hidden default page: it forwards to the viewer's first page, so every page keeps a URL of its own."""

    def forward() -> None:
        requested = _requested_path()
        if requested not in ("", "home"):
            # A page outside the viewer's roles, asked for by URL: refused, and recorded as such.
            session.record_session_event(viewer, "refused", None, page=requested[:MAX_RECORDED_PATH])
        st.switch_page(first, query_params=st.query_params.to_dict())

    return st.Page(forward, title="Relais", url_path="home", default=True, visibility="hidden")


def _centered(title: str, body: str) -> None:
    st.title(title)
    st.markdown(body)


def main() -> None:
    """Decide what this browser may see, then run that page."""
    # A file of our own: a Material icon as favicon is fetched from Google's servers, out of reach on a police network.
    st.set_page_config(page_title="Relais", page_icon=str(FAVICON), layout="wide")
    if not session.auth_configured():
        _centered(tr("app.unconfigured.title"), tr("app.unconfigured.body"))
        return
    if problem := session.cookie_problem():
        _centered(tr("app.cookie_secret.title"), tr(f"app.cookie_secret.{problem}", recipe=SECRET_RECIPE))
        return
    viewer = session.current_viewer()
    if viewer is None:
        refusal = session.refusal()
        policy = session.session_policy()
        _centered(tr("app.login.title"), tr(f"app.session.{refusal}" if refusal else "app.login.body",
                                            hours=f"{policy.max_hours:g}", minutes=f"{policy.idle_minutes:g}"))
        st.button(tr("app.login.button"), on_click=session.log_in, type="primary")
        return
    keys = [key for key in pages_for(viewer) if key in PAGE_ICONS]
    if not keys:
        _centered(tr("app.no_access.title"), tr("app.no_access.body", account=viewer.display_name,
                                                           subject=viewer.subject))
        st.button(tr("app.logout"), on_click=session.log_out)
        return
    pages = [_page(key) for key in keys]
    navigation = st.navigation([_landing(pages[0], viewer), *pages])
    with st.sidebar:
        st.markdown(f"**Relais** · {tr('app.organisation')}")
        st.caption(tr("app.signed_in_as", name=viewer.display_name))
        st.button(tr("app.logout"), on_click=session.log_out, key="logout")
        language_switch()
    navigation.run()


main()
