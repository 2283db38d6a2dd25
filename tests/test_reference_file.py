"""Reference files from the Data page: every problem reported, nothing orphaned, one audited write, admins only."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, insert, select
from streamlit.testing.v1 import AppTest

from dashboard.i18n import day, t
from dashboard.ingest.importer import Problem, import_file
from dashboard.ingest.reference_file import check_reference_file, reference_csv, replace_reference
from queries.filters import Scope
from queries.freshness import current_version
from queries.reference import (
    REFERENCE_DIR,
    gaps,
    load_reference,
    municipality_reference,
    organisation_reference,
    read_csv,
)
from queries.schema import (
    audit_event,
    import_batch,
    membership,
    municipality,
    municipality_boundary,
    organisation,
    organisation_service,
)

ADMIN = Scope(all_services=True, roles=frozenset({"admin"}))
SHIPPED_MUNICIPALITIES = (REFERENCE_DIR / "municipalities.csv").read_text(encoding="utf-8")
SHIPPED_ORGANISATIONS = (REFERENCE_DIR / "organisations.csv").read_text(encoding="utf-8")
SHIPPED_CODES = [row["code"] for row in read_csv(REFERENCE_DIR / "municipalities.csv")]
BELOEIL = "57040,2457040,Beloeil,RIPRSL,24104,45.5816,-73.2165,"
HEADER = "code,census_code,name,police_service,population_2021,lat,lon,member_from,member_until"
# Two interventions of the Régie in Beloeil (March and June 2024), one arrest of Saguenay's police in May 2024.
INTERVENTIONS = (
    "event_id,police_service,municipality_code,occurred_at,arrest,arrested_at,subject_key,contact_ban\n"
    "E1,RIPRSL,57040,2024-03-01 10:00,false,,,\n"
    "E2,RIPRSL,57040,2024-06-01 10:00,false,,,\n"
    "E3,SPS,94068,2024-05-10 10:00,true,2024-05-10 11:00,S-1,\n"
)


@pytest.fixture
def database(db):
    """The test database, its reference data as shipped again afterwards (PostgreSQL keeps municipalities)."""
    yield db
    with db.begin() as connection:
        connection.execute(delete(membership).where(membership.c.municipality_code.not_in(SHIPPED_CODES)))
        connection.execute(delete(municipality).where(municipality.c.code.not_in(SHIPPED_CODES)))
    load_reference(db)


@pytest.fixture
def with_interventions(database):
    report = import_file(database, "interventions", INTERVENTIONS.encode(), "interventions.csv")
    assert report.written and report.accepted == 3
    return database


def edited(text: str, replacements: dict[str, str | None], added: str = "") -> bytes:
    """The file with whole lines replaced (None: removed) and lines added at its end."""
    lines = []
    for line in text.splitlines():
        start = next((key for key in replacements if line.startswith(key)), None)
        if start is None:
            lines.append(line)
        elif replacements[start] is not None:
            lines.append(replacements[start])
    return ("\n".join(lines) + "\n" + added).encode("utf-8")


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {table.name: connection.scalar(select(func.count()).select_from(table))
                for table in (municipality, membership, organisation, organisation_service, import_batch)}


def test_the_shipped_files_and_the_downloaded_ones_change_nothing(database):
    shipped = (("municipalities", SHIPPED_MUNICIPALITIES, 18), ("organisations", SHIPPED_ORGANISATIONS, 6))
    for kind, text, rows in shipped:
        report = check_reference_file(database, kind, text.encode(), f"{kind}.csv", ADMIN)
        assert (report.problems, report.rows_read, report.unchanged) == ([], rows, rows)
        assert report.added == report.changed == report.removed == ()
    # What the Data page offers to download is a file it takes back as it is.
    downloaded = reference_csv(municipality_reference(database, ADMIN))
    assert downloaded.startswith(codecs.BOM_UTF8)
    assert downloaded.decode("utf-8-sig").splitlines()[:2] == [HEADER, "57040,2457040,Beloeil,RIPRSL,24104,45.5816,"
                                                                        "-73.2165,,"]
    report = check_reference_file(database, "municipalities", downloaded, "m.csv", ADMIN)
    assert (report.problems, report.rows_read, report.unchanged) == ([], 18, 18)
    downloaded = reference_csv(organisation_reference(database, ADMIN))
    assert downloaded.decode("utf-8-sig").splitlines()[1] == (
        "CAVAC-MTG,CAVAC de la Montérégie,Montérégie Crime Victims Assistance Centre (CAVAC),victim_assistance,"
        "RIPRSL,,")
    report = check_reference_file(database, "organisations", downloaded, "o.csv", ADMIN)
    assert (report.problems, report.rows_read, report.unchanged) == ([], 6, 6)


def test_a_good_municipalities_file_replaces_the_stored_ones(with_interventions):
    engine = with_interventions
    data = edited(SHIPPED_MUNICIPALITIES, {
        "57040,": "57040,2457040,Beloeil,RIPRSL,24500,45.5816,-73.2165,,",
        "59030,": None,
        "57005,": "57005,2457005,Chambly,RIPRSL,31444,45.4311,-73.2874,,2014-12-31\n"
                  "57005,2457005,Chambly,RIPRSL,31444,45.4311,-73.2874,2016-01-01,",
    }, added="57999,2457999,Essai-sur-Richelieu,RIPRSL,1000,45.6,-73.2,2026-01-01,\n")
    with engine.begin() as connection:
        # A boundary is the removed municipality's own reference data: it goes with it.
        connection.execute(insert(municipality_boundary).values(
            municipality_code="59030", geometry='{"type": "Polygon", "coordinates": []}', source_file="b.geojson",
            source_sha256="0" * 64, imported_at=datetime(2026, 1, 1, tzinfo=UTC)))
    before, version = counts(engine), current_version(engine)
    report = check_reference_file(engine, "municipalities", data, "municipalities.csv", ADMIN)
    # 18 rows, Calixa-Lavallée out, Chambly on two rows, Essai added: 19 rows; 15 of the 18 untouched.
    assert report.problems == []
    assert (report.rows_read, report.added, report.changed, report.removed, report.unchanged) == (
        19, ("57999",), ("57040", "57005"), ("59030",), 15)
    assert counts(engine) == before and current_version(engine) == version
    written = replace_reference(engine, "municipalities", data, "municipalities.csv", subject="root", scope=ADMIN)
    assert written.written and written.problems == []
    assert counts(engine) == {**before, "municipality": 18, "membership": 19,
                              "import_batch": before["import_batch"] + 1}
    with engine.connect() as connection:
        assert connection.scalar(select(municipality.c.population_2021).where(municipality.c.code == "57040")) == 24500
        assert connection.scalar(select(municipality.c.code).where(municipality.c.code == "59030")) is None
        assert connection.scalar(select(func.count()).select_from(municipality_boundary)) == 0
        chambly = connection.execute(select(membership.c.police_service, membership.c.member_from,
                                            membership.c.member_until)
                                     .where(membership.c.municipality_code == "57005")
                                     .order_by(membership.c.member_from)).all()
    assert sorted(chambly, key=lambda row: row[1] or date.min) == [
        ("RIPRSL", None, date(2014, 12, 31)), ("RIPRSL", date(2016, 1, 1), None)]
    assert current_version(engine) == version + 1


def test_a_municipality_where_interventions_took_place_cannot_be_removed(with_interventions):
    engine = with_interventions
    data = edited(SHIPPED_MUNICIPALITIES, {"57040,": None})
    before, version = counts(engine), current_version(engine)
    report = check_reference_file(engine, "municipalities", data, "m.csv", ADMIN)
    assert report.problems == [Problem(1, "code", "57040", t("reference.refused.removed_interventions", count="2"))]
    written = replace_reference(engine, "municipalities", data, "m.csv", subject="root", scope=ADMIN)
    assert not written.written and written.problems == report.problems
    assert counts(engine) == before and current_version(engine) == version


def test_a_membership_that_leaves_a_stored_intervention_unserved_is_refused(with_interventions):
    engine = with_interventions
    june = day(date(2024, 6, 1))
    # Beloeil leaves the Régie at the end of April 2024: its intervention of 1 June would belong to no one.
    early = edited(SHIPPED_MUNICIPALITIES, {"57040,": BELOEIL + ",2024-04-30"})
    report = check_reference_file(engine, "municipalities", early, "m.csv", ADMIN)
    assert report.problems == [Problem(2, "police_service", "RIPRSL", t("reference.refused.unserved", count="1",
                                                                         service="RIPRSL", first=june, last=june))]
    # Saguenay handed to the Régie: the SPS's arrest there, on line 19, would be outside every SPS period.
    moved = edited(SHIPPED_MUNICIPALITIES, {"94068,": "94068,2494068,Saguenay,RIPRSL,144723,48.3715,-71.1325,,"})
    may = day(date(2024, 5, 10))
    report = check_reference_file(engine, "municipalities", moved, "m.csv", ADMIN)
    assert report.problems == [Problem(19, "police_service", "SPS", t("reference.refused.unserved", count="1",
                                                                       service="SPS", first=may, last=may))]
    before = counts(engine)
    for data in (early, moved):
        assert not replace_reference(engine, "municipalities", data, "m.csv", subject="root", scope=ADMIN).written
    assert counts(engine) == before
    # Leaving at the end of June keeps both stored interventions served.
    later = edited(SHIPPED_MUNICIPALITIES, {"57040,": BELOEIL + ",2024-06-30"})
    written = replace_reference(engine, "municipalities", later, "m.csv", subject="root", scope=ADMIN)
    assert written.written and written.changed == ("57040",)


def test_every_bad_value_of_a_municipalities_file_is_reported_and_nothing_written(database):
    data = (HEADER + "\n"
            "1234,2457040,A,RIPRSL,10,45.5,-73.2,,\n"
            "57040,2457041,Beloeil,SPQ,-5,91,-73.2,2024-13-01,\n"
            "57010,,Carignan,RIPRSL,11740,45.4,10,2024-05-01,2024-04-01\n"
            "57005,,,RIPRSL,abc,,-73.3,,\n"
            "57025,2457025,McMasterville,RIPRSL,5936,45.5471,-73.2329,,\n"
            "57025,2457025,McMasterville,riprsl,5936,45.5471,-73.2329,,\n"
            "57025,2457025,McMasterville,SPS,5937,45.5471,-73.2329,,\n"
            "57035,2457035,Mont-Saint-Hilaire,RIPRSL,18859,45.5654,-73.1688,,2020-12-31\n"
            "57035,2457035,Mont-Saint-Hilaire,RIPRSL,18859,45.5654,-73.1688,2020-06-01,\n"
            "57030,2457030,Otterburn Park,RIPRSL,8479,45.5388,-73.2087,,,extra\n"
            "55057,2455057,Rich\x01elieu,RIPRSL,5742,45.4097,-73.2264,,\n").encode()
    before, version = counts(database), current_version(database)
    report = check_reference_file(database, "municipalities", data, "bad.csv", ADMIN)
    latitude = t("reference.reason.latitude", low="44", high="63")
    longitude = t("reference.reason.longitude", low="-80", high="-57")
    assert [(problem.line, problem.column, problem.value, problem.reason) for problem in report.problems] == [
        (2, "code", "1234", t("import.reason.municipality_code")),
        (3, "census_code", "2457041", t("reference.reason.census_code")),
        (3, "police_service", "SPQ", t("import.reason.unknown_service")),
        (3, "population_2021", "-5", t("reference.reason.population")),
        (3, "lat", "91", latitude),
        (3, "member_from", "2024-13-01", t("reference.reason.date")),
        (4, "lon", "10", longitude),
        (4, "member_until", "2024-04-01", t("reference.reason.until_before_from")),
        (5, "name", "", t("import.reason.required")),
        (5, "population_2021", "abc", t("reference.reason.population")),
        (5, "lat", "", t("import.reason.required")),
        (7, "code", "57025", t("import.reason.duplicate_key", line=6)),
        (8, "population_2021", "5937", t("reference.reason.differs", line=6)),
        (10, "member_from", "2020-06-01", t("reference.reason.overlap", line=9)),
        (11, "", "", t("import.reason.extra_values")),
        (12, "name", "Rich\\x01elieu", t("import.reason.control_character")),
    ]
    assert not replace_reference(database, "municipalities", data, "bad.csv", subject="root", scope=ADMIN).written
    assert counts(database) == before and current_version(database) == version


def test_the_importers_reading_rules_hold(database):
    # `;`, a BOM, Windows line ends, headers in capitals and a French decimal comma: the shipped data, unchanged.
    rows = [line.split(",") for line in SHIPPED_MUNICIPALITIES.splitlines()]
    rows[0] = [name.upper() for name in rows[0]]
    rows[1][5] = rows[1][5].replace(".", ",")
    data = codecs.BOM_UTF8 + "\r\n".join(";".join(row) for row in rows).encode()
    report = check_reference_file(database, "municipalities", data, "m.csv", ADMIN)
    assert (report.delimiter, report.problems, report.unchanged) == (";", [], 18)
    missing = check_reference_file(database, "municipalities", b"code,name,police_service,lat,lon\n", "m.csv", ADMIN)
    assert missing.file_problem and missing.problems == [
        Problem(1, "population_2021", "", t("import.file.missing_columns", line=1))]
    empty = check_reference_file(database, "municipalities", (HEADER + "\n\n").encode(), "m.csv", ADMIN)
    assert empty.problems == [Problem(1, "", "", t("reference.file.empty"))]
    latin = check_reference_file(database, "organisations", SHIPPED_ORGANISATIONS.encode("latin-1", "replace"),
                                 "o.csv", ADMIN)
    assert latin.file_problem and latin.problems[0].reason == t("import.file.not_utf8", line=3)


def test_a_good_organisations_file_replaces_the_stored_ones(database):
    data = edited(SHIPPED_ORGANISATIONS, {
        "MH-RSL,": None,
        "CFS,": "CFS,Centre féminin du Saguenay,Centre féminin du Saguenay,shelter,\"SPS;RIPRSL\",,",
        "CAVAC-MTG,": "CAVAC-MTG,CAVAC de la Montérégie,CAVAC of Montérégie,victim_assistance,RIPRSL,,",
    }, added="CALACS-SAG,CALACS du Saguenay (démo),Saguenay sexual assault centre (demo),Other,sps,2025-01-01,\n")
    before = counts(database)
    report = check_reference_file(database, "organisations", data, "organisations.csv", ADMIN)
    assert report.problems == []
    assert (report.rows_read, report.added, report.changed, report.removed, report.unchanged) == (
        6, ("CALACS-SAG",), ("CAVAC-MTG", "CFS"), ("MH-RSL",), 3)
    assert counts(database) == before
    written = replace_reference(database, "organisations", data, "organisations.csv", subject="root", scope=ADMIN)
    assert written.written
    # EPH, CAVAC-MTG, CAVAC-SLSJ, PH-SAG and CALACS-SAG with one service each, CFS with two.
    assert counts(database) == {**before, "organisation": 6, "organisation_service": 7,
                                "import_batch": before["import_batch"] + 1}
    with database.connect() as connection:
        added = connection.execute(select(organisation.c.kind, organisation_service.c.police_service,
                                          organisation_service.c.member_from)
                                   .join(organisation_service, organisation_service.c.organisation_code
                                         == organisation.c.code)
                                   .where(organisation.c.code == "CALACS-SAG")).all()
    assert added == [("other", "SPS", date(2025, 1, 1))]


def test_every_bad_value_of_an_organisations_file_is_reported(database):
    data = (b"code,name_fr,name_en,kind,police_services,member_from,member_until\n"
            b"eph,A,B,men_program,RIPRSL,,\n"
            b"TOO-LONG-CODE-12345,A,B,men_program,RIPRSL,,\n"
            b"X1,,B,shelter,RIPRSL,,\n"
            b"X2,A,B,refuge,RIPRSL,,\n"
            b"X3,A,B,shelter,\"RIPRSL;SPQ\",,\n"
            b"X4,A,B,shelter,\"SPS;sps\",,\n"
            b"X5,A,B,shelter,,,\n"
            b"X6,A,B,shelter,SPS,2025-02-01,2025-01-01\n"
            b"X6,A,B,shelter,SPS,,\n")
    before = counts(database)
    report = check_reference_file(database, "organisations", data, "bad.csv", ADMIN)
    assert [(problem.line, problem.column, problem.value, problem.reason) for problem in report.problems] == [
        (2, "code", "eph", t("reference.reason.organisation_code")),
        (3, "code", "TOO-LONG-CODE-12345", t("reference.reason.organisation_code")),
        (4, "name_fr", "", t("import.reason.required")),
        (5, "kind", "refuge", t("import.reason.choice", allowed="men_program, shelter, victim_assistance, therapy, "
                                                              "addiction, legal, other")),
        (6, "police_services", "RIPRSL;SPQ", t("reference.reason.unknown_services", codes="SPQ")),
        (7, "police_services", "SPS;sps", t("reference.reason.repeated_service", codes="SPS")),
        (8, "police_services", "", t("import.reason.required")),
        (9, "member_until", "2025-01-01", t("reference.reason.until_before_from")),
        (10, "code", "X6", t("import.reason.duplicate_key", line=9)),
    ]
    assert not replace_reference(database, "organisations", data, "bad.csv", subject="root", scope=ADMIN).written
    assert counts(database) == before


def test_a_replacement_writes_its_batch_row_its_audit_row_and_the_data_version(database):
    data = edited(SHIPPED_MUNICIPALITIES, {"57040,": "57040,2457040,Beloeil,RIPRSL,24500,45.5816,-73.2165,,"})
    version = current_version(database)
    written = replace_reference(database, "municipalities", data, "municipalities.csv", subject="root", scope=ADMIN)
    with database.connect() as connection:
        batch = connection.execute(select(import_batch).where(import_batch.c.id == written.batch_id)).one()
        audit = connection.execute(select(audit_event).order_by(audit_event.c.id.desc()).limit(1)).one()
    assert (batch.kind, batch.file_name, batch.imported_by, batch.status, batch.rows_read, batch.rows_accepted,
            batch.rows_rejected, batch.police_service, batch.channel, batch.demo) == (
        "municipalities", "municipalities.csv", "root", "imported", 18, 18, 0, None, "upload", False)
    assert batch.file_sha256 == written.file_sha256 and len(batch.file_sha256) == 64
    assert (audit.subject, audit.roles, audit.services, audit.action, audit.page) == (
        "root", "admin", "*", "reference_replaced", "data")
    assert json.loads(audit.detail) == {"kind": "municipalities", "file": "municipalities.csv",
                                        "sha256": written.file_sha256, "batch_id": written.batch_id, "rows": 18,
                                        "added": 0, "changed": 1, "removed": 0, "unchanged": 17}
    assert current_version(database) == version + 1


@pytest.mark.parametrize("scope", [
    Scope.of("RIPRSL"), Scope.of("RIPRSL", role="worker"), Scope(all_services=True, roles=frozenset({"director"})),
    # An administrator of one service: a file replaces every service's rows.
    Scope(services=frozenset({"SPS"}), roles=frozenset({"admin"})),
])
def test_anyone_but_an_administrator_of_every_service_is_denied(database, scope):
    before = counts(database)
    data = SHIPPED_MUNICIPALITIES.encode()
    with pytest.raises(PermissionError):
        check_reference_file(database, "municipalities", data, "m.csv", scope)
    with pytest.raises(PermissionError):
        replace_reference(database, "municipalities", data, "m.csv", subject="someone", scope=scope)
    if "admin" not in scope.roles:
        for read in (municipality_reference, organisation_reference):
            with pytest.raises(PermissionError):
                read(database, scope)
    assert counts(database) == before


SCRIPT = """
from auth.viewer import Viewer
from dashboard.web.reference_view import reference_section

reference_section(Viewer(subject="root", display_name="Root", roles=frozenset({"admin"}), all_services=True))
"""


def test_the_reference_section_shows_checks_and_replaces(database, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RELAIS_LANGUAGE", "fr")
    script = tmp_path / "reference_page.py"
    script.write_text(SCRIPT, encoding="utf-8")
    app = AppTest.from_file(str(script), default_timeout=60).run()
    assert not app.exception
    assert [tab.label for tab in app.tabs] == ["Municipalités", "Organismes partenaires"]
    places, partners = (table.value for table in app.dataframe)
    assert len(places) == 18 and len(partners) == 6
    beloeil = places[places["Code"] == "57040"].iloc[0]
    assert beloeil["Population (2021)"].replace("\u202f", " ").replace("\xa0", " ") == "24 104"
    assert beloeil["Depuis le"] == "—"
    assert list(partners[partners["Code"] == "MH-RSL"]["Type"]) == ["Maison d'hébergement"]
    # A file with a problem: its table, and no button.
    bad = edited(SHIPPED_MUNICIPALITIES, {"57040,": "57040,2457040,Beloeil,RIPRSL,-1,45.5816,-73.2165,,"})
    app.file_uploader(key="reference_upload_municipalities_0").set_value(("m.csv", bad, "text/csv")).run()
    assert not app.exception
    problems = app.dataframe[1].value
    assert problems.values.tolist() == [[2, "population_2021", "-1", t("reference.reason.population", "fr")]]
    assert not [button for button in app.button if button.key.startswith("reference_confirm")]
    # A good one: what it would change, then the click writes it.
    good = edited(SHIPPED_MUNICIPALITIES, {"57040,": "57040,2457040,Beloeil,RIPRSL,24500,45.5816,-73.2165,,"})
    app.file_uploader(key="reference_upload_municipalities_0").set_value(("m.csv", good, "text/csv")).run()
    assert [message.value for message in app.success] == [t("reference.summary", "fr", rows="18", added="0",
                                                            changed="1", removed="0", unchanged="17")]
    assert counts(database)["import_batch"] == 0
    app.button(key="reference_confirm_municipalities_0").click().run()
    assert not app.exception
    assert [toast.value for toast in app.toast] == [t("reference.done", "fr", added="0", changed="1", removed="0")]
    assert counts(database)["import_batch"] == 1
    with database.connect() as connection:
        assert connection.scalar(select(municipality.c.population_2021).where(municipality.c.code == "57040")) == 24500
    # The uploader comes back empty.
    assert app.file_uploader(key="reference_upload_municipalities_1").value is None


CHOICES_SCRIPT = """
import streamlit as st

from dashboard.web import cache
from queries.filters import Scope

st.markdown(str(len(cache.choices(Scope(all_services=True, roles=frozenset({"captain"})))[1])))
"""


def test_the_sidebar_offers_a_new_municipality_at_once(database, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    script = tmp_path / "choices.py"
    script.write_text(CHOICES_SCRIPT, encoding="utf-8")
    app = AppTest.from_file(str(script), default_timeout=60).run()
    assert [text.value for text in app.markdown] == ["18"]
    added = SHIPPED_MUNICIPALITIES + "57999,2457999,Essai-sur-Richelieu,RIPRSL,1000,45.6,-73.2,,\n"
    assert replace_reference(database, "municipalities", added.encode(), "m.csv", subject="root", scope=ADMIN).written
    assert [text.value for text in app.run().markdown] == ["19"]


def test_the_days_no_membership_covers():
    assert gaps([]) == [(date.min, date.max)]
    assert gaps([(None, None)]) == []
    assert gaps([(None, date(2024, 4, 30))]) == [(date(2024, 5, 1), date.max)]
    # Chambly's spell outside the Régie, 2015, between two memberships given in any order.
    assert gaps([(date(2016, 1, 1), None), (None, date(2014, 12, 31))]) == [(date(2015, 1, 1), date(2015, 12, 31))]
    # Overlapping and touching periods leave nothing between them.
    assert gaps([(date(2010, 1, 1), date(2012, 1, 1)), (date(2011, 1, 1), date(2013, 1, 1)),
                 (date(2013, 1, 2), date(2014, 1, 1))]) == [(date.min, date(2009, 12, 31)),
                                                          (date(2014, 1, 2), date.max)]


def test_the_data_page_shows_the_reference_data(database, database_url, monkeypatch):
    from tests.test_app import PAGES_DIR, app_for

    admin = {"sub": "admin-1", "roles": ["admin"], "police_services": ["*"]}
    monkeypatch.setenv("RELAIS_LANGUAGE", "fr")
    page = app_for(admin, database_url, monkeypatch, script=str(PAGES_DIR / "data.py"))
    assert not page.exception
    assert "Données de référence" in [header.value for header in page.subheader]
    assert [tab.label for tab in page.tabs] == ["Municipalités", "Organismes partenaires"]
    shown = {len(table.value) for table in page.dataframe}
    assert {18, 6} <= shown
    assert page.file_uploader(key="reference_upload_municipalities_0") is not None


def test_what_an_administrator_replaced_stays_after_init_db_and_serve_reload_the_shipped_files(database):
    """The shipped files seed a database; once a kind is replaced from the Data page, reloading them changes none of
    it (every `init-db`, `serve` and compose start reloads them)."""
    municipalities = edited(SHIPPED_MUNICIPALITIES, {BELOEIL: BELOEIL.replace("24104", "24105")})
    organisations = edited(SHIPPED_ORGANISATIONS, {"MH-RSL,": None})
    for kind, data in (("municipalities", municipalities), ("organisations", organisations)):
        assert replace_reference(database, kind, data, f"{kind}.csv", subject="root", scope=ADMIN).written
    before = counts(database)
    loaded = load_reference(database)
    assert (loaded.municipalities, loaded.organisations) == (0, 0)
    assert counts(database) == before
    with database.connect() as connection:
        assert connection.scalar(select(municipality.c.population_2021).where(municipality.c.code == "57040")) == 24105
        assert connection.scalar(select(func.count()).where(organisation.c.code == "MH-RSL")) == 0
