"""The viewer's language: chosen in the sidebar, kept in the URL and the session, French by default."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import streamlit as st

from dashboard.i18n import CATALOGUE, LANGUAGES, t

LANGUAGE_KEY = "language"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
# The keys of the widgets whose options are shown in the viewer's language (sidebar filters, report periods, map).
TRANSLATED_CHOICES = ("filter_preset", "filter_service", "filter_places", "report_kind", "report_quarter",
                      "report_year", "map_measure")


def language() -> str:
    """The viewer's language: the URL's lang parameter, else the session's, else French."""
    chosen = st.query_params.get("lang") or st.session_state.get(LANGUAGE_KEY) or "fr"
    chosen = chosen if chosen in LANGUAGES else "fr"
    st.session_state[LANGUAGE_KEY] = chosen
    return chosen


def language_switch() -> None:
    """Français / English in the sidebar, kept in the URL."""
    current = language()
    chosen = st.segmented_control(tr("app.language"), list(LANGUAGE_NAMES), default=current,
                                  format_func=LANGUAGE_NAMES.get, key="language_choice",
                                  label_visibility="collapsed")
    if chosen and chosen != current:
        st.session_state[LANGUAGE_KEY] = chosen
        st.query_params["lang"] = chosen
        # A keyed select box keeps showing its option in the old language when only its format_func changes: its
        # value set again from the session makes Streamlit send it, and the browser draw it, anew.
        for key in TRANSLATED_CHOICES:
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]
        st.rerun()


def labels(keys: Iterable[str]) -> Callable[[str], str]:
    """A format_func for widgets: option → its text, looked up now, since tests call it outside the script."""
    table = {key.rsplit(".", 1)[-1]: tr(key) for key in keys}
    return lambda option: table.get(option, option)


def tr(key: str, **values: object) -> str:
    """Catalogue text in the viewer's language."""
    return t(key, language(), **values)


def tr_or_raw(prefix: str, value: str) -> str:
    """The catalogue's name for a stored value (a role, a page) in the viewer's language, else the value as stored."""
    key = f"{prefix}.{value}"
    return tr(key) if key in CATALOGUE else value
