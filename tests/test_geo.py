"""Boundary import: codes read from any accepted property, geometries checked and rounded, all or nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.commands.geo import run_geo_import_command
from dashboard.ingest.boundary_file import BoundaryReport, boundary_polygons, feature_code, import_boundaries
from dashboard.ingest.problems import InvalidValue
from queries.boundaries import boundaries, boundary_codes
from queries.schema import municipality_boundary

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Not tests/data/: the .gitignore rule "data/" (meant for the database directory) would leave it out of commits.
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "boundaries_sample.geojson"
SAMPLE_CODES = {"57040", "57025", "94068"}
BELOEIL_FIRST_POSITION = [-73.20668, 45.60128]
SAGUENAY_FIRST_POSITION = [-71.28233, 48.56626]
# Under a metre across: its four corners round to one position.
SPECK = [[-73.1, 45.5], [-73.100001, 45.5], [-73.100001, 45.500001], [-73.1, 45.500001], [-73.1, 45.5]]


@pytest.fixture
def sample() -> dict:
    """The sample FeatureCollection: Beloeil, McMasterville and Saguenay."""
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def square(longitude: float, latitude: float, size: float = 0.01) -> dict:
    """A closed square Polygon geometry with its south-west corner at the position."""
    east, north = round(longitude + size, 5), round(latitude + size, 5)
    ring = [[longitude, latitude], [east, latitude], [east, north], [longitude, north], [longitude, latitude]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(properties: dict, geometry: dict | None) -> dict:
    """A GeoJSON Feature."""
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features: dict) -> dict:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": list(features)}


def import_document(engine, document: dict, file_name: str = "test.geojson") -> BoundaryReport:
    """Import a GeoJSON document given as a dict."""
    return import_boundaries(engine, json.dumps(document).encode("utf-8"), file_name)


def stored_rows(engine) -> dict[str, dict]:
    """Every stored boundary row by municipality code."""
    with engine.connect() as connection:
        rows = connection.execute(select(municipality_boundary)).mappings()
        return {row["municipality_code"]: dict(row) for row in rows}


# The code of a feature


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"code": "57040", "name": "Beloeil"}, "57040"),
        ({"CODMUN": "57040"}, "57040"),
        ({"Code_Mun": " 57040 "}, "57040"),
        ({"MUS_CO_GEO": "57040", "MUS_CO_MRC": "57"}, "57040"),
        ({"CSDUID": "2457040"}, "57040"),
        ({"code": 2494068}, "94068"),
        ({"code": 57040.0}, "57040"),
        ({"code": 1023}, "01023"),
        ({"code": "abc", "mus_co_geo": "57040"}, "57040"),
        ({"code": "1023"}, None),
        ({"code": "570401"}, None),
        ({"csduid": "3520005"}, None),
        ({"code": True}, None),
        ({"name": "Beloeil"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_feature_code_reads_accepted_properties_in_any_case(properties, code):
    assert feature_code(properties)[0] == code


def test_feature_code_shows_the_value_it_could_not_use():
    assert feature_code({"CODE": "5704"}) == (None, "5704")


# The geometry of a feature


def test_polygons_are_rounded_to_five_decimals_without_repeated_vertices():
    ring = [
        [-73.2066849, 45.6012801, 12.0],
        [-73.2066801, 45.6012799],
        [-73.1, 45.6],
        [-73.1, 45.7],
        [-73.2066849, 45.6012801],
    ]
    polygons = boundary_polygons({"type": "Polygon", "coordinates": [ring]})
    assert polygons == [[[[-73.20668, 45.60128], [-73.1, 45.6], [-73.1, 45.7], [-73.20668, 45.60128]]]]


def test_multipolygon_keeps_its_polygons_and_holes_and_drops_what_rounding_collapses():
    outer = square(-73.3, 45.5, size=0.1)["coordinates"][0]
    hole = square(-73.28, 45.52)["coordinates"][0]
    geometry = {"type": "MultiPolygon", "coordinates": [[outer, hole], [SPECK]]}
    polygons = boundary_polygons(geometry)
    assert len(polygons) == 1
    assert [len(ring) for ring in polygons[0]] == [5, 5]


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (None, "geo.reason.no_geometry"),
        ({"type": "Point", "coordinates": [-73.2, 45.6]}, "geo.reason.geometry_type"),
        ({"type": "LineString", "coordinates": [[-73.2, 45.6], [-73.1, 45.6]]}, "geo.reason.geometry_type"),
        ({"type": "Polygon", "coordinates": "nope"}, "geo.reason.coordinates"),
        ({"type": "Polygon", "coordinates": [[[-73.2, 45.6], [-73.1, 45.6], [-73.2, 45.6]]]}, "geo.reason.coordinates"),
        ({"type": "Polygon", "coordinates": [[["-73.2", 45.6]] * 4]}, "geo.reason.coordinates"),
        ({"type": "MultiPolygon", "coordinates": []}, "geo.reason.coordinates"),
        ({"type": "Polygon", "coordinates": [square(-73.2, 45.6)["coordinates"][0][:-1]]}, "geo.reason.ring_open"),
        (square(640000.0, 5050000.0, size=1000.0), "geo.reason.outside_quebec"),
        (square(45.6, -73.2), "geo.reason.outside_quebec"),
        (square(-81.0, 45.0), "geo.reason.outside_quebec"),
        (square(-73.2, 63.5), "geo.reason.outside_quebec"),
        ({"type": "Polygon", "coordinates": [SPECK]}, "geo.reason.too_small"),
    ],
)
def test_invalid_geometries_are_refused_with_their_reason(geometry, reason):
    with pytest.raises(InvalidValue) as refused:
        boundary_polygons(geometry)
    assert refused.value.key == reason


# Import into the database


def test_import_stores_each_boundary_with_its_geometry_and_source(db):
    data = SAMPLE.read_bytes()
    report = import_boundaries(db, data, SAMPLE.name)
    assert (report.features, report.imported, report.replaced, report.problems) == (3, 3, 0, [])
    assert len(report.without_boundary) == 15 and "55057 Richelieu" in report.without_boundary

    geometries = boundaries(db, ["57040", "57025", "94068", "55057", "00000"])
    assert set(geometries) == SAMPLE_CODES
    assert geometries["57040"]["type"] == "Polygon"
    assert geometries["57040"]["coordinates"][0][0] == BELOEIL_FIRST_POSITION
    assert geometries["94068"]["coordinates"][0][0] == SAGUENAY_FIRST_POSITION
    sample_geometries = {item["properties"]["code"]: item["geometry"] for item in json.loads(data)["features"]}
    assert geometries == sample_geometries

    row = stored_rows(db)["57025"]
    assert row["source_file"] == "boundaries_sample.geojson"
    assert row["source_sha256"] == hashlib.sha256(data).hexdigest()
    assert row["imported_at"].tzinfo == UTC


def test_reimport_replaces_the_boundaries_in_the_file_and_keeps_the_others(db, sample):
    import_document(db, sample)
    moved = square(-73.2, 45.6)
    report = import_document(db, collection(feature({"code": "57040"}, moved)), "beloeil-2025.geojson")
    assert (report.imported, report.replaced) == (1, 1)
    assert boundaries(db, ["57040"])["57040"] == moved
    rows = stored_rows(db)
    assert set(rows) == SAMPLE_CODES
    assert rows["57040"]["source_file"] == "beloeil-2025.geojson"
    assert rows["57025"]["source_file"] == "test.geojson"


def test_one_invalid_feature_rejects_the_file_and_every_problem_is_listed(db, sample):
    import_document(db, sample)
    before = stored_rows(db)
    beloeil, mcmasterville, saguenay = sample["features"]
    beloeil["geometry"] = square(-73.2, 45.6)
    mcmasterville["geometry"] = square(640000.0, 5050000.0, size=1000.0)
    saguenay["geometry"] = {"type": "Point", "coordinates": [-71.0, 48.4]}
    report = import_document(db, collection(beloeil, feature({"code": "01023"}, None), mcmasterville, saguenay))
    assert [(problem.feature, problem.code, problem.key) for problem in report.problems] == [
        (3, "57025", "geo.reason.outside_quebec"),
        (4, "94068", "geo.reason.geometry_type"),
    ]
    assert report.outside_quebec and not report.written
    assert stored_rows(db) == before


def test_unknown_and_unreadable_codes_are_skipped_and_reported(db, sample):
    unknown = [feature({"code": code}, square(-70.0, 47.0)) for code in ("01023", "99999", "01023")]
    without_code = feature({"name": "Territoire non organisé"}, square(-70.0, 47.0))
    report = import_document(db, collection(*sample["features"], *unknown, without_code))
    assert (report.features, report.imported, report.problems) == (7, 3, [])
    assert report.unknown == ["01023", "99999", "01023"]
    assert report.without_code == ["#7"]
    assert boundary_codes(db) == SAMPLE_CODES


def test_census_codes_and_other_property_names_are_imported(db, sample):
    beloeil, _, saguenay = sample["features"]
    beloeil["properties"] = {"MUS_CO_GEO": "57040", "MUS_NM_MUN": "Beloeil"}
    saguenay["properties"] = {"CSDUID": "2494068", "CSDNAME": "Saguenay"}
    report = import_document(db, collection(beloeil, saguenay))
    assert report.imported == 2
    assert set(boundaries(db, SAMPLE_CODES)) == {"57040", "94068"}


def test_features_sharing_a_code_are_joined_into_one_multipolygon(db):
    island, mainland = square(-73.25, 45.58), square(-73.22, 45.59)
    report = import_document(db, collection(feature({"code": "57040"}, island), feature({"code": "57040"}, mainland)))
    assert (report.imported, report.merged) == (1, ["57040"])
    assert boundaries(db, ["57040"])["57040"] == {
        "type": "MultiPolygon",
        "coordinates": [island["coordinates"], mainland["coordinates"]],
    }


def test_a_file_without_a_known_municipality_imports_nothing(db):
    report = import_document(db, collection(feature({"code": "01023"}, square(-70.0, 47.0))))
    assert (report.imported, report.unknown, report.problems) == (0, ["01023"], [])
    assert boundary_codes(db) == set()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"type": "FeatureCollection", "features": [', "JSON"),
        (b'{"type": "Feature", "geometry": null}', "FeatureCollection"),
        (b'{"type": "FeatureCollection", "features": []}', "aucune"),
        ('{"type": "FeatureCollection", "name": "Montréal", "features": []}'.encode("latin-1"), "UTF-8"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(db, data, reason, monkeypatch):
    monkeypatch.setenv("RELAIS_LANGUAGE", "fr")
    report = import_boundaries(db, data, "broken.geojson")
    assert reason in report.file_problem
    assert boundary_codes(db) == set()


def test_summary_lists_a_few_skipped_codes_in_english(db, sample, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RELAIS_LANGUAGE", "en")
    unknown = [feature({"code": f"0{code}"}, square(-70.0, 47.0)) for code in range(1010, 1017)]
    path = tmp_path / "province.geojson"
    path.write_text(json.dumps(collection(*sample["features"], *unknown)), encoding="utf-8")
    assert run_geo_import_command(db, path) == 0
    printed = capsys.readouterr().out
    assert f"{path}: 10 feature(s) read; boundaries of 3 municipality(ies) imported (3 new, 0 replaced)." in printed
    assert "7 feature(s) skipped, municipality not in the database: 01010, 01011, 01012, 01013, 01014 and 2 more." in (
        printed
    )
    assert "15 municipality(ies) in the database still without a boundary: 55057 Richelieu," in printed


# The command line, run as a user would


def run_command(database_url: str, path: Path | str, language: str = "fr") -> subprocess.CompletedProcess:
    """`python -m dashboard geo import PATH` against the test database."""
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": language}
    return subprocess.run(
        [sys.executable, "-m", "dashboard", "geo", "import", str(path)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


def test_command_imports_a_file_with_a_byte_order_mark(db, database_url, tmp_path):
    path = tmp_path / "limites.geojson"
    path.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8-sig")
    finished = run_command(database_url, path)
    assert finished.returncode == 0, finished.stderr
    assert "3 entité(s) lue(s) ; contours de 3 municipalité(s) importés (3 nouveau(x), 0 remplacé(s))" in (
        finished.stdout
    )
    assert boundary_codes(db) == SAMPLE_CODES


def test_command_refuses_projected_coordinates_with_exit_1(db, database_url, sample, tmp_path):
    sample["features"][1]["geometry"] = square(640000.0, 5050000.0, size=1000.0)
    path = tmp_path / "lambert.geojson"
    path.write_text(json.dumps(sample), encoding="utf-8")
    finished = run_command(database_url, path, language="en")
    assert finished.returncode == 1
    assert "2  57025  coordinate (640000.0, 5050000.0) outside Quebec" in finished.stderr
    assert "no boundary was imported" in finished.stderr
    assert "ogr2ogr -t_srs EPSG:4326" in finished.stderr
    assert boundary_codes(db) == set()


def test_command_with_no_known_municipality_exits_1(db, database_url, tmp_path):
    path = tmp_path / "elsewhere.geojson"
    path.write_text(json.dumps(collection(feature({"code": "01023"}, square(-70.0, 47.0)))), encoding="utf-8")
    finished = run_command(database_url, path, language="en")
    assert finished.returncode == 1
    assert "1 feature(s) skipped, municipality not in the database: 01023." in finished.stderr
    assert "no feature matches a municipality in the database; nothing was imported." in finished.stderr


def test_command_with_a_missing_file_exits_2(db, database_url, tmp_path):
    finished = run_command(database_url, tmp_path / "absent.geojson")
    assert finished.returncode == 2
    assert "fichier introuvable" in finished.stderr and "absent.geojson" in finished.stderr


# The audit of every run


def geo_audit(engine) -> list[tuple[dict, dict]]:
    """Each `geo import` audit row: its filters and its detail, without who ran it."""
    from queries.schema import audit_event

    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.filters, audit_event.c.detail)
                                  .where(audit_event.c.action == "geo_import").order_by(audit_event.c.id)).all()
    return [(json.loads(filters), {key: value for key, value in json.loads(detail).items()
                                   if key not in ("os_user", "relais_user")}) for filters, detail in rows]


def test_every_run_is_audited_with_its_counts_and_the_files_hash(db, sample, tmp_path, capsys):
    good, projected = tmp_path / "limites.geojson", tmp_path / "lambert.geojson"
    good.write_bytes(SAMPLE.read_bytes())
    sample["features"][1]["geometry"] = square(640000.0, 5050000.0, size=1000.0)
    projected.write_text(json.dumps(sample), encoding="utf-8")
    assert run_geo_import_command(db, good) == 0
    assert run_geo_import_command(db, projected, "munic_s") == 1
    assert run_geo_import_command(db, tmp_path / "absent.geojson") == 2
    counted = {"file_problem": None, "unknown": 0, "without_code": 0, "outside_province": 0, "layer_read": None,
               "converted_from": None}
    assert geo_audit(db) == [
        ({"file": "limites.geojson", "layer": None},
         {"status": "imported", "features": 3, "imported": 3, "replaced": 0, "problems": 0, "without_boundary": 15,
          **counted, "file_sha256": hashlib.sha256(SAMPLE.read_bytes()).hexdigest()}),
        ({"file": "lambert.geojson", "layer": "munic_s"},
         {"status": "rejected", "features": 3, "imported": 0, "replaced": 0, "problems": 1, "without_boundary": 0,
          **counted, "file_sha256": hashlib.sha256(projected.read_bytes()).hexdigest()}),
        ({"file": "absent.geojson", "layer": None}, {"status": "refused", "reason": "no_file"}),
    ]


def test_a_crashed_run_is_audited_with_the_errors_type_before_it_propagates(db, tmp_path, monkeypatch):
    from dashboard.ingest import boundary_file

    def crash(*_arguments):
        raise MemoryError("57040 Beloeil")

    monkeypatch.setattr(boundary_file, "_check_features", crash)
    path = tmp_path / "limites.geojson"
    path.write_bytes(SAMPLE.read_bytes())
    with pytest.raises(MemoryError):
        run_geo_import_command(db, path)
    assert geo_audit(db) == [({"file": "limites.geojson", "layer": None},
                              {"status": "failed", "error": "MemoryError",
                               "file_sha256": hashlib.sha256(SAMPLE.read_bytes()).hexdigest()})]
    assert boundary_codes(db) == set()
