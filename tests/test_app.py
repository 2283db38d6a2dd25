"""The app with AppTest: which pages each kind of claims gets, the figures shown, the audit of page views."""

from __future__ import annotations

import json
import re
import time
from datetime import date

import pytest
import streamlit as st
from sqlalchemy import Engine, event, select
from streamlit.testing.v1 import AppTest

from dashboard import settings
from dashboard.figures import short_label
from dashboard.i18n import number, percent, t
from dashboard.web import cache
from dashboard.web.sidebar import default_filter
from dashboard.web.sidebar import local_today as ui_today
from dashboard.web.url_state import default_report_choice
from queries.audit import record_event
from queries.filters import MetricFilter, Scope
from queries.interventions import intervention_totals
from queries.outreach import outreach_summary
from queries.periods import quarter_period
from queries.report import funder_report
from queries.schema import audit_event
from queries.trends import headline
from tests.hand_made import load_hand_made

APP = str(settings.PROJECT_ROOT / "dashboard" / "app.py")
PAGES_DIR = settings.PROJECT_ROOT / "pages"
PAGE_TITLES = {key: t(f"page.{key}", "fr")
               for key in ("queue", "overview", "outreach", "report", "data", "audit", "definitions")}
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-only, never served: 0123456789abcdef",
    "client_id": "relais-test",
    "client_secret": "test-only",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def signed_in() -> dict:
    """What st.user holds of any signed-in person: the flag, and the ID token's issue time (now)."""
    return {"is_logged_in": True, "iat": int(time.time())}


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test's database is new, while AppTest shares this process's Streamlit cache: start it empty."""
    st.cache_data.clear()


def app_for(claims: dict | None, database_url: str, monkeypatch, script: str = APP) -> AppTest:
    """An AppTest of a script with auth configured and these ID-token claims (None: signed out)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(script, default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), **claims} if claims is not None else {"is_logged_in": False}
    return test.run()


def titles(test: AppTest) -> list[str]:
    return [title.value for title in test.title]


@pytest.mark.parametrize(
    ("claims", "pages"),
    [
        ({"roles": ["captain"], "police_services": ["RIPRSL"]}, ("overview", "outreach", "definitions")),
        ({"roles": ["director"], "police_services": ["*"]}, ("overview", "outreach", "report", "queue", "definitions")),
        ({"roles": ["worker"], "police_services": ["RIPRSL"]}, ("queue", "overview", "outreach", "definitions")),
        ({"roles": ["funder"], "police_services": ["*"]}, ("report", "definitions")),
        ({"roles": ["admin"], "police_services": ["*"]}, ("data", "audit", "definitions")),
        ({"roles": ["captain", "admin"], "police_services": ["SPS"]},
         ("overview", "outreach", "data", "audit", "definitions")),
        ({"roles": " Funder ", "police_services": "sps"}, ("report", "definitions")),
        ({"roles": ["CAPTAIN", "janitor"], "police_services": [" riprsl "]}, ("overview", "outreach", "definitions")),
        ({"roles": ["janitor"], "police_services": ["RIPRSL"]}, ()),
        ({"roles": [], "police_services": ["RIPRSL"]}, ()),
        ({"police_services": ["RIPRSL"]}, ()),
        ({"roles": ["captain"]}, ()),
        ({"roles": ["captain"], "police_services": []}, ()),
    ],
)
def test_role_by_page_grid(engine, database_url, monkeypatch, claims, pages):
    test = app_for({"sub": "person", "name": "Une personne", **claims}, database_url, monkeypatch)
    assert not test.exception
    if not pages:
        assert titles(test) == ["Aucun accès"]
        assert "Une personne" in test.markdown[0].value
        assert len(test.metric) == 0
        return
    assert titles(test) == [PAGE_TITLES[pages[0]]]
    for key, title in PAGE_TITLES.items():
        script = str(PAGES_DIR / f"{key}.py")
        if key in pages:
            test.switch_page(script).run()
            assert not test.exception and titles(test) == [title]
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                test.switch_page(script)


def test_signed_out_sees_only_the_sign_in_button(engine, database_url, monkeypatch):
    test = app_for(None, database_url, monkeypatch)
    assert [button.label for button in test.button] == ["Se connecter"]
    assert len(test.metric) == 0


def test_without_auth_configuration_a_page_says_what_to_set(engine, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(APP, default_timeout=60).run()
    assert not test.exception
    assert titles(test) == ["Connexion non configurée"]
    assert "[auth]" in test.markdown[0].value and "STREAMLIT_SECRETS_FILES" in test.markdown[0].value


@pytest.fixture
def loaded(engine):
    """The hand-made data set moved by whole weeks into the pages' default period."""
    shift = default_filter().period.start.toordinal() - date(2024, 3, 4).toordinal()  # its first Monday
    return load_hand_made(engine, shift_days=shift)


@pytest.mark.parametrize("services", [["RIPRSL"], ["SPS"], ["*"]])
def test_overview_shows_the_query_layers_figures_for_the_viewers_services(loaded, database_url, monkeypatch, services):
    test = app_for({"sub": "c", "roles": ["captain"], "police_services": services}, database_url, monkeypatch)
    scope = Scope(all_services=True, roles=frozenset({"captain"})) if services == ["*"] else Scope.of(*services)
    current = headline(loaded, default_filter(), scope).current
    assert current.interventions == intervention_totals(loaded, default_filter(), scope).total > 0
    expected = [number(current.interventions, "fr"), number(current.arrests, "fr"),
                number(current.rate_per_1000, "fr", 2), number(current.repeat, "fr"),
                number(current.contact_bans, "fr")]
    assert [metric.value for metric in test.metric] == expected
    assert not test.exception


def test_a_charts_table_is_drawn_only_once_its_expander_is_opened(loaded, database_url, monkeypatch):
    test = app_for({"sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    see_table = t("chart.text.see_table", "fr")
    assert [box.label for box in test.expander] == [see_table, see_table] and not test.table
    test.session_state[cache.table_key("weekly_chart")] = True
    test.run()
    assert not test.exception and len(test.table) == 1
    weekly = test.expander[0].table[0].value
    # The weekly chart's rows: the period's 12 weeks, which hold every intervention of the tile.
    total = intervention_totals(loaded, default_filter(), Scope.of("RIPRSL")).total
    assert len(weekly) == 12 and weekly["Interventions"].astype(int).sum() == total > 0
    assert not test.expander[1].table


def test_the_map_is_sent_compact_once_built_with_its_tooltip_and_its_summary_as_text(loaded, database_url,
                                                                                     monkeypatch):
    test = app_for({"sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    assert not test.exception
    sent = test.get("deck_gl_json_chart")[0].proto
    assert "\n" not in sent.json and ": " not in sent.json
    columns = json.loads(sent.json)["layers"][0]["data"]
    total = intervention_totals(loaded, default_filter(), Scope.of("RIPRSL")).total
    assert sum(int(column["count_label"]) for column in columns) == total > 0
    assert "{name}" in json.loads(sent.tooltip)["html"]
    busiest = max(columns, key=lambda column: int(column["count_label"]))
    assert sent.alt in [caption.value for caption in test.caption]
    assert f"{busiest['name']} ({busiest['count_label']})" in sent.alt


def test_a_page_checks_the_role_itself_before_any_query(engine, database_url, monkeypatch):
    captain = {"sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}
    test = app_for(captain, database_url, monkeypatch, script=str(PAGES_DIR / "audit.py"))
    assert not test.exception and titles(test) == [] and len(test.dataframe) == 0
    refused = [(row.subject, row.services, row.page) for row in _audit_rows(engine) if row.action == "refused"]
    assert refused == [("c", "RIPRSL", "audit")]


def test_page_views_are_audited_once_per_view(engine, database_url, monkeypatch):
    test = app_for({"sub": "alice", "roles": ["captain"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    test.run()  # a rerun of the same view is not a new view
    test.switch_page(str(PAGES_DIR / "definitions.py")).run()
    with engine.connect() as connection:
        rows = connection.execute(select(audit_event).order_by(audit_event.c.id)).all()
    assert [(row.subject, row.roles, row.services, row.action, row.page) for row in rows] == [
        ("alice", "captain", "RIPRSL", "sign_in", None),
        ("alice", "captain", "RIPRSL", "view", "overview"),
        ("alice", "captain", "RIPRSL", "view", "definitions"),
    ]
    assert json.loads(rows[1].filters)["from"] == default_filter().period.start.isoformat()


def _audit_rows(engine):
    with engine.connect() as connection:
        return connection.execute(select(audit_event).order_by(audit_event.c.id)).all()


def test_admin_lists_the_audit_trail(engine, database_url, monkeypatch):
    app_for({"sub": "alice", "roles": ["captain"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    record_event(engine, subject="clerk", roles=("command",), services="*", action="metrics", filters={"to": "x"})
    bob = {"sub": "bob", "roles": ["captain"], "police_services": ["RIPRSL"]}
    app_for(bob, database_url, monkeypatch, script=str(PAGES_DIR / "audit.py"))
    record_event(engine, subject="alice", roles=("captain",), services="RIPRSL", action="refused", page="wp-admin")
    test = app_for({"sub": "root", "roles": ["admin"], "police_services": ["*"]}, database_url, monkeypatch)
    assert not test.exception and titles(test) == ["Données"]  # the administrator's home page
    test.switch_page(str(PAGES_DIR / "audit.py")).run()
    assert not test.exception and titles(test) == ["Journal d'audit"]
    shown = test.dataframe[0].value
    # Newest first: the administrator's own search of the trail, views and sign-in; a page refused to alice, asked for
    # by a URL that is no page of Relais's (shown as typed); bob's refused page and sign-in; a command's run; alice.
    assert list(zip(shown["Personne"], shown["Action"], shown["Page"], shown["Services"])) == [
        ("root", "recherche dans le journal", "Journal d'audit", "tous"),
        ("root", "consultation", "Journal d'audit", "tous"),
        ("root", "consultation", "Données", "tous"),
        ("root", "connexion", "", "tous"),
        ("alice", "page refusée", "wp-admin", "RIPRSL"),
        ("bob", "page refusée", "Journal d'audit", "RIPRSL"),
        ("bob", "connexion", "", "RIPRSL"),
        ("clerk", "commande metrics", "", "tous"),
        ("alice", "consultation", "Vue d'ensemble", "RIPRSL"),
        ("alice", "connexion", "", "RIPRSL"),
    ]
    assert list(shown["Rôles"]) == ["administration"] * 4 + ["capitaine"] * 3 + ["ligne de commande"] + [
        "capitaine"] * 2
    assert list(shown["Filtres"])[6:8] == ["", '{"to": "x"}']
    test.selectbox[0].set_value("alice").run()
    assert list(test.dataframe[0].value["Personne"]) == ["alice"] * 3
    searches = [json.loads(row.filters) for row in _audit_rows(engine) if row.action == "search"]
    assert [search["subject"] for search in searches] == [None, "alice"]


def test_a_copied_link_opens_the_same_view(loaded, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(APP, default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), "sub": "c", "roles": ["captain"], "police_services": ["RIPRSL", "SPS"]}
    test.query_params.update({"period": "custom", "from": "2024-03-04", "to": "2024-03-17", "service": "RIPRSL",
                              "m": "57005"})
    test.run()
    assert not test.exception
    assert test.selectbox(key="filter_preset").value == "custom"
    assert test.selectbox(key="filter_service").value == "RIPRSL"
    assert test.multiselect(key="filter_places").value == ["57005"]
    # Nothing was loaded in March 2024 here (the data set was moved into the default period): zeros, not errors.
    assert [metric.value for metric in test.metric][:2] == ["0", "0"]
    assert [info.value for info in test.info] == [t("overview.empty", "fr")]
    assert test.query_params["from"] == "2024-03-04" and test.query_params["m"] == "57005"
    test.selectbox(key="filter_preset").set_value("last_12_weeks").run()
    assert "from" not in test.query_params and test.query_params["service"] == "RIPRSL"


@pytest.mark.parametrize("pages", [("outreach", "overview"), ("queue", "overview"), ("report", "outreach")])
def test_the_sidebar_choices_follow_the_person_from_page_to_page(loaded, database_url, monkeypatch, pages):
    claims = {"sub": "c", "roles": ["captain", "director", "worker"], "police_services": ["RIPRSL", "SPS"]}
    test = app_for(claims, database_url, monkeypatch)
    test.switch_page(str(PAGES_DIR / "overview.py")).run()
    test.selectbox(key="filter_preset").set_value("this_year").run()
    test.selectbox(key="filter_service").set_value("RIPRSL").run()
    test.multiselect(key="filter_places").set_value(["57005"]).run()
    for page in pages:
        test.switch_page(str(PAGES_DIR / f"{page}.py")).run()
        assert not test.exception
    assert test.selectbox(key="filter_preset").value == "this_year"
    assert test.selectbox(key="filter_service").value == "RIPRSL"
    assert test.multiselect(key="filter_places").value == ["57005"]
    # The link in the address bar still reproduces the view.
    assert (test.query_params["period"], test.query_params["service"], test.query_params["m"]) == (
        "this_year", "RIPRSL", "57005")


def test_the_reports_period_is_kept_while_the_person_looks_at_other_pages(loaded, database_url, monkeypatch):
    test = app_for({"sub": "d", "roles": ["director"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    test.switch_page(str(PAGES_DIR / "report.py")).run()
    test.segmented_control(key="report_kind").set_value("year").run()
    year = test.selectbox(key="report_year").options[-1]
    test.selectbox(key="report_year").set_value(int(year)).run()
    for page in ("overview", "outreach", "report"):
        test.switch_page(str(PAGES_DIR / f"{page}.py")).run()
        assert not test.exception
    assert (test.segmented_control(key="report_kind").value, test.selectbox(key="report_year").value) == (
        "year", int(year))
    assert test.query_params["period"] == "year"


def test_no_entry_script_sits_beside_a_pages_folder():
    # Streamlit's legacy multipage mode serves every script in a pages/ folder beside the entry script,
    # signed in or not, until st.navigation first runs: the entry must never move next to pages/.
    assert not (settings.PROJECT_ROOT / "dashboard" / "pages").exists()
    assert not list(settings.PROJECT_ROOT.glob("*.py"))


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    ("roles", "page"),
    [(["captain"], "overview"), (["director"], "outreach"), (["director"], "report"), (["funder"], "report"),
     (["funder"], "definitions"), (["admin"], "audit")],
)
def test_every_page_renders_in_both_languages(loaded, database_url, monkeypatch, roles, page, language):
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(APP, default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), "sub": "p", "roles": roles, "police_services": ["*"]}
    test.query_params["lang"] = language
    test.session_state["language"] = language
    test.run()
    test.switch_page(str(PAGES_DIR / f"{page}.py")).run()
    assert not test.exception
    assert titles(test) == [t(f"page.{page}", language)]


def test_outreach_page_shows_the_query_layers_figures(loaded, database_url, monkeypatch):
    test = app_for({"sub": "d", "roles": ["director"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    test.switch_page(str(PAGES_DIR / "outreach.py")).run()
    assert not test.exception
    summary = outreach_summary(loaded, default_filter(), Scope.of("RIPRSL"))
    assert summary.cohort > 0
    shown = {metric.label: metric.value for metric in test.metric}
    assert shown[short_label("cohort", "fr")] == number(summary.cohort, "fr")
    assert shown[short_label("reach_rate", "fr")] == percent(summary.reach_rate, "fr")
    assert shown[short_label("acceptance_rate", "fr")] == percent(summary.acceptance_rate, "fr")
    assert shown[short_label("median_hours", "fr")] == t("metrics.hours", "fr",
                                                    value=number(summary.median_hours_to_first_attempt, "fr", 1))
    assert shown[short_label("within_24h_share", "fr")] == percent(summary.within_24h_share, "fr")


def test_the_outreach_page_reads_its_cohort_once_per_rerun(loaded, database_url, monkeypatch):
    test = app_for({"sub": "d", "roles": ["director"], "police_services": ["RIPRSL"]}, database_url, monkeypatch)
    st.cache_data.clear()
    cohort_reads = []

    def note(_connection, _cursor, statement, *_rest):
        if "WITH member AS" in statement:  # the CTE of queries.cohort.cohort_members
            cohort_reads.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        test.switch_page(str(PAGES_DIR / "outreach.py")).run()
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    assert not test.exception
    # Tiles, funnel, delays, weekly share, outcomes and later repeats from one read; referrals count attempts.
    referrals = [statement for statement in cohort_reads if "outreach_attempt" in statement]
    assert (len(cohort_reads) - len(referrals), len(referrals)) == (1, 1)


def test_an_empty_period_explains_itself(engine, database_url, monkeypatch):
    for page, message in (("overview", "overview.empty"), ("outreach", "outreach.empty")):
        test = app_for({"sub": "d", "roles": ["director"], "police_services": ["*"]}, database_url, monkeypatch)
        test.switch_page(str(PAGES_DIR / f"{page}.py")).run()
        assert not test.exception
        assert [info.value for info in test.info] == [t(message, "fr")]
        assert "nan" not in " ".join(str(metric.value).lower() for metric in test.metric)


@pytest.fixture
def last_quarter(engine):
    """The hand-made data set moved into the report's default period, the last complete quarter."""
    start = default_report_choice(ui_today()).start
    first_monday = start.toordinal() + (7 - start.weekday()) % 7 + 14
    return load_hand_made(engine, shift_days=first_monday - date(2024, 3, 4).toordinal())


SMALL_COUNT = re.compile(r"[1-4](\s*\(.*\))?")


def _strings_and_numbers(node, key=None):
    """Every (key, value) leaf of a JSON document."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _strings_and_numbers(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _strings_and_numbers(value, key)
    else:
        yield key, node


def test_a_funders_report_page_sends_no_count_from_1_to_4(last_quarter, database_url, monkeypatch):
    test = app_for({"sub": "f", "roles": ["funder"], "police_services": ["*"]}, database_url, monkeypatch)
    assert not test.exception and titles(test) == [PAGE_TITLES["report"]]
    report = funder_report(last_quarter, MetricFilter(quarter_period(default_report_choice(ui_today()).start,
                                                                     ui_today())),
                           Scope(all_services=True, roles=frozenset({"funder"})))
    # The régie's 12 and Saguenay's 1: a total that may be shown, from parts that may not.
    assert report.figures["interventions"]["current"].value == 13
    assert "13 interventions" in " ".join(markdown.value for markdown in test.markdown)
    # Tables, the charts' own opened too: no cell reads 1 to 4; the hidden ones read "< 5".
    for name in ("trend", "funnel", "delays", "outcomes"):
        test.session_state[cache.table_key(f"report_{name}")] = True
    test.run()
    assert len(test.expander) > 0 and all(box.table for box in test.expander)
    cells = [str(cell) for table in test.table for cell in table.value.to_numpy().ravel()]
    assert "< 5" in cells and not [cell for cell in cells if SMALL_COUNT.fullmatch(cell.strip())]
    # Charts as sent to the browser: no count from 1 to 4 in their data, as a number or as a label.
    specs = [json.loads(chart.proto.spec) for chart in test.get("vega_lite_chart")]
    assert len(specs) >= 3  # with so few cases some parts are not broken down at all
    leaks = [(key, value) for spec in specs for key, value in _strings_and_numbers(spec.get("datasets", {}))
             if (key in ("value", "interventions", "members", "label_at") and isinstance(value, (int, float))
                 and 1 <= value <= 4) or (isinstance(value, str) and SMALL_COUNT.fullmatch(value.strip()))]
    assert leaks == []
    # Funders choose among complete quarters only (a year would be their sum), and no places.
    last = default_report_choice(ui_today()).start
    assert test.selectbox(key="report_quarter").value == last
    assert [box.key for box in test.selectbox] == ["report_quarter"]
    assert not test.multiselect and [group.key for group in test.get("button_group")] == ["language_choice"]


@pytest.mark.parametrize(
    ("params", "warned"),
    [({}, False), ({"period": "year", "from": "2025-01-01"}, True),
     ({"period": "custom", "from": "2025-02-01", "to": "2025-03-15"}, True), ({"service": "SPS"}, True)],
)
def test_the_director_is_warned_when_a_report_is_not_of_the_funders_kind(last_quarter, database_url, monkeypatch,
                                                                          params, warned):
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(APP, default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), "sub": "d", "roles": ["director"], "police_services": ["*"]}
    test.run()
    test.switch_page(str(PAGES_DIR / "report.py"))
    for name, value in params.items():
        if name != "service":
            test.query_params[name] = value
    test.run()
    if "service" in params:  # the sidebar's service, chosen on the first page, is the session's
        test.selectbox(key="filter_service").set_value(params["service"]).run()
    assert not test.exception
    assert [warning.value for warning in test.warning] == ([t("report.other_kind.quarter", "fr")] if warned else [])


def test_a_deployment_can_give_funders_years_instead(last_quarter, database_url, monkeypatch):
    monkeypatch.setenv("RELAIS_FUNDER_PERIOD", "year")
    test = app_for({"sub": "f", "roles": ["funder"], "police_services": ["*"]}, database_url, monkeypatch)
    assert not test.exception
    assert [box.key for box in test.selectbox] == ["report_year"]
    assert test.selectbox(key="report_year").options[0] == str(ui_today().year - 1)


def test_a_link_with_dates_out_of_range_is_brought_back_with_a_message(loaded, database_url, monkeypatch):
    """?from=0001-01-01 crashed the date picker; a repeated ?m= code is chosen once; a period of every year since
    2000 draws its heat map by quarter instead of failing on Vega's 5,000 rows."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    today = ui_today()
    test = AppTest.from_file(APP, default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), "sub": "c", "roles": ["captain"], "police_services": ["RIPRSL"]}
    test.query_params.update({"period": "custom", "from": "0001-01-01", "to": "9999-12-31", "m": "57040,57040,57005"})
    test.run()
    assert not test.exception
    assert test.date_input(key="filter_dates").value == (date(2000, 1, 1), today)
    assert test.multiselect(key="filter_places").value == ["57040", "57005"]
    assert len(test.warning) == 1 and "1 janv. 2000" in test.warning[0].value
    # Beloeil: E0, E1, E2, E13, E14, E15; Chambly: E3, E4, E5 (tests/hand_made.py).
    assert test.metric[0].value == "9"
    assert t("overview.heatmap.monthly", "fr") in [caption.value for caption in test.caption]
    assert test.query_params["from"] == "2000-01-01" and test.query_params["m"] == "57040,57005"


@pytest.mark.parametrize("page", ["overview", "report"])
def test_a_link_with_a_start_only_runs_to_today_with_a_message(loaded, database_url, monkeypatch, page):
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(str(PAGES_DIR / f"{page}.py"), default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), "sub": "d", "roles": ["director"], "police_services": ["*"]}
    test.query_params.update({"period": "custom", "from": "0001-01-01"})
    test.run()
    assert not test.exception
    key = "filter_dates" if page == "overview" else "report_dates"
    assert test.date_input(key=key).value == (date(2000, 1, 1), ui_today())
    assert any("1 janv. 2000" in warning.value for warning in test.warning)


def test_the_report_brings_a_link_with_dates_out_of_range_back(loaded, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    # The report page itself, opened by a link: no other page has rewritten the URL before it.
    test = AppTest.from_file(str(PAGES_DIR / "report.py"), default_timeout=60)
    test.secrets["auth"] = AUTH
    test.user = {**signed_in(), "sub": "d", "roles": ["director"], "police_services": ["*"]}
    test.query_params.update({"period": "custom", "from": "0001-01-01", "to": ui_today().isoformat()})
    test.run()
    assert not test.exception
    assert test.date_input(key="report_dates").value == (date(2000, 1, 1), ui_today())
    assert any("1 janv. 2000" in warning.value for warning in test.warning)
