"""Boundary import from shapefiles as Statistics Canada and the MRNF distribute them, converted to WGS84."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import shapefile

from dashboard.commands.geo import run_geo_import_command
from dashboard.ingest.boundary_file import import_boundaries, import_boundary_file
from dashboard.ingest.coordinates import crs_from_prj, wgs84_transformer
from queries.boundaries import boundaries, boundary_codes

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The .prj of the 2021 Census boundary files (lcsd000b21a_e.prj): NAD83 / Statistics Canada Lambert, in ESRI WKT.
STATCAN_PRJ = (
    'PROJCS["NAD83_Statistics_Canada_Lambert",GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",'
    'SPHEROID["Geodetic_Reference_System_of_1980",6378137,298.2572221008916]],PRIMEM["Greenwich",0],'
    'UNIT["Degree",0.017453292519943295]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["standard_parallel_1",49],'
    'PARAMETER["standard_parallel_2",77],PARAMETER["latitude_of_origin",63.390675],'
    'PARAMETER["central_meridian",-91.86666666666666],PARAMETER["false_easting",6200000],'
    'PARAMETER["false_northing",3000000],UNIT["Meter",1]]'
)
# The same projection as the 2016 files' .prj (lcsd000b16a_e.prj) writes it.
STATCAN_2016_PRJ = (
    'PROJCS["PCS_Lambert_Conformal_Conic",GEOGCS["GCS_North_American_1983",DATUM["North_American_Datum_1983",'
    'SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Lambert_Conformal_Conic_2SP"],PARAMETER["False_Easting",6200000.0],'
    'PARAMETER["False_Northing",3000000.0],PARAMETER["Central_Meridian",-91.86666666666666],'
    'PARAMETER["Standard_Parallel_1",49.0],PARAMETER["Standard_Parallel_2",77.0],'
    'PARAMETER["Latitude_Of_Origin",63.390675],UNIT["Meter",1.0]]'
)
# NAD83 geographic (EPSG:4269), as the MRNF's Découpages administratifs are distributed.
NAD83_PRJ = (
    'GEOGCS["GCS_North_American_1983",DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
GRS80_SEMI_MAJOR_AXIS = 6378137.0
GRS80_FLATTENING = 1 / 298.257222101
# Within about a metre: 5 decimals kept, and NAD83 taken as WGS84 (they differ by about a metre in Quebec).
TOLERANCE = 1.5e-5
BELOEIL_SQUARE = [(-73.22, 45.56), (-73.22, 45.59), (-73.18, 45.59), (-73.18, 45.56), (-73.22, 45.56)]


def statcan_lambert(longitude: float, latitude: float) -> tuple[float, float]:
    """EPSG:3347 easting and northing of a position, by hand: Lambert conic conformal (2SP), EPSG Guidance Note 7-2."""
    e = math.sqrt(2 * GRS80_FLATTENING - GRS80_FLATTENING**2)

    def m(phi: float) -> float:
        return math.cos(phi) / math.sqrt(1 - (e * math.sin(phi)) ** 2)

    def t(phi: float) -> float:
        return math.tan(math.pi / 4 - phi / 2) / ((1 - e * math.sin(phi)) / (1 + e * math.sin(phi))) ** (e / 2)

    phi1, phi2, phi_origin, lambda_origin = map(math.radians, (49.0, 77.0, 63.390675, -91.86666666666666))
    n = (math.log(m(phi1)) - math.log(m(phi2))) / (math.log(t(phi1)) - math.log(t(phi2)))
    big_f = m(phi1) / (n * t(phi1) ** n)
    r_origin = GRS80_SEMI_MAJOR_AXIS * big_f * t(phi_origin) ** n
    r = GRS80_SEMI_MAJOR_AXIS * big_f * t(math.radians(latitude)) ** n
    theta = n * (math.radians(longitude) - lambda_origin)
    return 6_200_000 + r * math.sin(theta), 3_000_000 + r_origin - r * math.cos(theta)


def lambert_ring(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A longitude/latitude ring in Statistics Canada Lambert metres."""
    return [statcan_lambert(longitude, latitude) for longitude, latitude in ring]


def square(west: float, south: float, size: float) -> list[tuple[float, float]]:
    """A closed clockwise square ring (a shapefile's outer ring) from its south-west corner."""
    east, north = west + size, south + size
    return [(west, south), (west, north), (east, north), (east, south), (west, south)]


def shapefile_members(
    stem: str,
    fields: tuple[str, ...],
    features: list[tuple[tuple[str, ...], list[list[tuple[float, float]]]]],
    prj: str | None,
    shape_type: int = shapefile.POLYGON,
) -> dict[str, bytes]:
    """The files of one shapefile layer, by name: each feature is (attribute values, rings)."""
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    writer = shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shape_type)
    for name in fields:
        writer.field(name, "C", 60)
    for values, rings in features:
        if shape_type == shapefile.POLYLINE:
            writer.line(rings)
        else:
            writer.poly(rings)
        writer.record(*values)
    writer.close()
    members = {f"{stem}.shp": shp.getvalue(), f"{stem}.shx": shx.getvalue(), f"{stem}.dbf": dbf.getvalue()}
    if prj is not None:
        members[f"{stem}.prj"] = prj.encode("ascii")
    return members


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip archive of these members."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


CSD_FIELDS = ("CSDUID", "CSDNAME", "CSDTYPE", "PRUID", "PRNAME")


def census_subdivisions(*features: tuple[str, str, list[list[tuple[float, float]]]]) -> list:
    """StatCan-style records: (CSDUID, CSDNAME, longitude/latitude rings) → Lambert rings with CSD attributes."""
    return [
        ((csduid, name, "V", csduid[:2], "Quebec / Québec" if csduid.startswith("24") else "Ontario"),
         [lambert_ring(ring) for ring in rings])
        for csduid, name, rings in features
    ]


def statcan_zip(directory: Path, *features, prj: str | None = STATCAN_PRJ) -> Path:
    """lcsd000b21a_e.zip with these census subdivisions, in Statistics Canada Lambert."""
    members = shapefile_members("lcsd000b21a_e", CSD_FIELDS, census_subdivisions(*features), prj)
    return write_zip(directory / "lcsd000b21a_e.zip", members)


def assert_positions(ring: list[list[float]], expected: list[tuple[float, float]]) -> None:
    """The stored ring is the expected longitude/latitude ring, to about a metre."""
    assert len(ring) == len(expected)
    for (longitude, latitude), (expected_longitude, expected_latitude) in zip(ring, expected):
        assert longitude == pytest.approx(expected_longitude, abs=TOLERANCE)
        assert latitude == pytest.approx(expected_latitude, abs=TOLERANCE)


# The projection, against figures worked out by hand


@pytest.mark.parametrize("prj", [STATCAN_PRJ, STATCAN_2016_PRJ])
def test_the_false_origin_of_statistics_canada_lambert_is_its_published_centre(prj):
    transformer = wgs84_transformer(crs_from_prj(prj))
    longitude, latitude = transformer.transform(6_200_000.0, 3_000_000.0)
    assert (longitude, latitude) == (pytest.approx(-91.866667, abs=1e-6), pytest.approx(63.390675, abs=1e-6))


@pytest.mark.parametrize(
    ("longitude", "latitude"),
    [(-73.2051, 45.5636), (-71.0689, 48.4279), (-79.5, 44.99), (-57.2, 51.4), (-77.8, 62.4)],
)
def test_lambert_coordinates_worked_by_hand_convert_back_to_their_position(longitude, latitude):
    easting, northing = statcan_lambert(longitude, latitude)
    converted = wgs84_transformer(crs_from_prj(STATCAN_PRJ)).transform(easting, northing)
    assert converted == (pytest.approx(longitude, abs=1e-7), pytest.approx(latitude, abs=1e-7))


def test_beloeil_in_lambert_metres_by_hand():
    # Beloeil's centroid lies about 1,457 km east and 1,740 km south of the false origin.
    easting, northing = statcan_lambert(-73.2051, 45.5636)
    assert (round(easting), round(northing)) == (7_657_271, 1_259_540)


# Statistics Canada's census subdivisions


def test_census_subdivisions_of_quebec_are_converted_and_other_provinces_skipped(db, tmp_path):
    saguenay = square(-71.1, 48.4, 0.05)
    path = statcan_zip(
        tmp_path,
        ("3506008", "Ottawa", [square(-75.8, 45.3, 0.1)]),
        ("2457040", "Beloeil", [BELOEIL_SQUARE]),
        ("2401023", "Les Îles-de-la-Madeleine", [square(-61.9, 47.3, 0.1)]),
        ("2494068", "Saguenay", [saguenay]),
        ("5915022", "Vancouver", [square(-123.2, 49.2, 0.1)]),
    )
    report = import_boundary_file(db, path)
    assert report.file_problem is None and report.problems == []
    assert (report.features, report.imported, report.outside_province) == (5, 2, 2)
    assert report.unknown == ["01023"]
    assert report.layer == "lcsd000b21a_e"
    assert report.converted_from == "NAD83_Statistics_Canada_Lambert"
    stored = boundaries(db, ["57040", "94068", "01023"])
    assert set(stored) == {"57040", "94068"}
    assert stored["57040"]["type"] == "Polygon"
    assert_positions(stored["57040"]["coordinates"][0], BELOEIL_SQUARE)
    assert_positions(stored["94068"]["coordinates"][0], saguenay)


def test_holes_and_islands_of_a_census_subdivision_are_kept(db, tmp_path):
    outer = square(-73.24, 45.54, 0.06)
    hole = list(reversed(square(-73.22, 45.56, 0.01)))  # counter-clockwise: a hole
    island = square(-73.30, 45.50, 0.02)
    path = statcan_zip(tmp_path, ("2457040", "Beloeil", [outer, hole, island]))
    report = import_boundary_file(db, path)
    assert report.imported == 1
    geometry = boundaries(db, ["57040"])["57040"]
    assert geometry["type"] == "MultiPolygon"
    with_hole, alone = geometry["coordinates"]
    assert [len(ring) for ring in with_hole] == [5, 5]
    assert_positions(with_hole[1], hole)
    assert_positions(alone[0], island)


def test_outlines_are_simplified_to_about_100_metres(db, tmp_path):
    # 3.9 km by 5.6 km; the north edge wobbles by 20 m every 39 m, with a 560 m spike: the wobble goes, the spike stays.
    west, south, size, steps = -73.24, 45.54, 0.05, 100
    wobble = 0.00018  # 20 m of latitude
    north_edge = [
        (west + size * step / steps, south + size + (wobble if step % 2 else 0.0)) for step in range(steps + 1)
    ]
    north_edge[50] = (west + size / 2, south + size + 0.005)
    ring = [(west, south), *north_edge, (west + size, south), (west, south)]
    path = statcan_zip(tmp_path, ("2457040", "Beloeil", [ring]))
    report = import_boundary_file(db, path)
    assert (report.vertices_read, report.vertices_kept) == (104, 8)
    stored = boundaries(db, ["57040"])["57040"]["coordinates"][0]
    assert_positions(
        stored,
        [(west, south), (west, south + size), north_edge[48], north_edge[50], north_edge[52],
         (west + size, south + size), (west + size, south), (west, south)],
    )


def test_a_feature_outside_quebec_under_a_quebec_code_refuses_the_file(db, tmp_path, monkeypatch):
    monkeypatch.setenv("RELAIS_LANGUAGE", "en")
    import_boundary_file(db, statcan_zip(tmp_path, ("2457040", "Beloeil", [BELOEIL_SQUARE])))
    before = boundaries(db, ["57040"])
    (tmp_path / "second").mkdir()
    path = statcan_zip(
        tmp_path / "second",
        ("2457025", "McMasterville", [square(-73.25, 45.54, 0.02)]),
        ("2457040", "Beloeil", [square(-81.5, 45.0, 0.1)]),
    )
    report = import_boundary_file(db, path)
    assert [(problem.feature, problem.code, problem.key) for problem in report.problems] == [
        (2, "57040", "geo.reason.outside_quebec")
    ]
    assert "(-81.5, 45.0) outside Quebec" in report.problems[0].reason
    assert boundaries(db, ["57040", "57025"]) == before


# The MRNF's Découpages administratifs


def test_the_municipal_layer_is_found_among_the_mrnf_layers(db, tmp_path):
    beloeil = [(-73.2351, 45.5851), (-73.1702, 45.5851), (-73.1702, 45.5302), (-73.2351, 45.5851)]
    members = {
        **shapefile_members(
            "SHP/munic_s",
            ("MUS_CO_GEO", "MUS_NM_MUN", "MUS_CO_MRC"),
            [(("57040", "Beloeil", "57"), [beloeil]), (("57025", "McMasterville", "57"), [square(-73.25, 45.5, 0.02)])],
            NAD83_PRJ,
        ),
        **shapefile_members(
            "SHP/mrc_s", ("MRS_CO_MRC", "MRS_NM_MRC"), [(("57", "Vallée"), [square(-73.4, 45.4, 0.4)])], NAD83_PRJ
        ),
        **shapefile_members("SHP/munic_l", ("MUS_CO_GEO",), [(("57040",), [beloeil[:2]])], NAD83_PRJ,
                            shape_type=shapefile.POLYLINE),
    }
    report = import_boundary_file(db, write_zip(tmp_path / "SDA.shp.zip", members))
    assert (report.layer, report.imported, report.outside_province) == ("munic_s", 2, 0)
    assert report.converted_from == "NAD83"
    assert_positions(boundaries(db, ["57040"])["57040"]["coordinates"][0], beloeil)


def test_a_layer_is_chosen_by_name_when_the_archive_holds_several(db, tmp_path, monkeypatch):
    monkeypatch.setenv("RELAIS_LANGUAGE", "en")
    records = [(("57040", "Beloeil"), [BELOEIL_SQUARE])]
    members = {
        **shapefile_members("munic_s", ("MUS_CO_GEO", "MUS_NM_MUN"), records, NAD83_PRJ),
        **shapefile_members("munic_2020", ("MUS_CO_GEO", "MUS_NM_MUN"), records, NAD83_PRJ),
    }
    path = write_zip(tmp_path / "two.zip", members)
    refused = import_boundary_file(db, path)
    assert refused.file_problem == "several municipality layers: munic_2020, munic_s; choose one with --layer NAME"
    assert boundary_codes(db) == set()
    assert import_boundary_file(db, path, layer="MUNIC_S").imported == 1
    assert import_boundary_file(db, path, layer="regio_s").file_problem == (
        "no layer regio_s in the file; layers: munic_2020, munic_s"
    )


def test_a_bare_shp_is_read_with_its_siblings(db, tmp_path):
    members = shapefile_members("munic_s", ("MUS_CO_GEO",), [(("57040",), [BELOEIL_SQUARE])], NAD83_PRJ)
    for name, data in members.items():
        (tmp_path / name).write_bytes(data)
    report = import_boundary_file(db, tmp_path / "munic_s.shp")
    assert (report.imported, report.layer) == (1, "munic_s")
    assert_positions(boundaries(db, ["57040"])["57040"]["coordinates"][0], BELOEIL_SQUARE)


# GeoJSON that states its system


@pytest.mark.parametrize(
    ("crs", "ring", "converted_from"),
    [
        ("urn:ogc:def:crs:EPSG::3347", lambert_ring(BELOEIL_SQUARE), "NAD83 / Statistics Canada Lambert"),
        # EPSG's NAD83 puts latitude first; GeoJSON puts longitude first whatever the system says.
        ("urn:ogc:def:crs:EPSG::4269", BELOEIL_SQUARE, "NAD83"),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", BELOEIL_SQUARE, None),
    ],
)
def test_geojson_with_a_crs_member_is_converted(db, crs, ring, converted_from):
    document = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": crs}},
        "features": [
            {
                "type": "Feature",
                "properties": {"CSDUID": "2457040", "PRUID": "24"},
                "geometry": {"type": "Polygon", "coordinates": [[list(position) for position in ring]]},
            },
        ],
    }
    report = import_boundaries(db, json.dumps(document).encode(), "limites.geojson")
    assert (report.imported, report.converted_from) == (1, converted_from)
    assert_positions(boundaries(db, ["57040"])["57040"]["coordinates"][0], BELOEIL_SQUARE)


# Files refused whole


def test_a_zip_without_prj_in_metres_is_refused(db, tmp_path, monkeypatch):
    monkeypatch.setenv("RELAIS_LANGUAGE", "en")
    report = import_boundary_file(db, statcan_zip(tmp_path, ("2457040", "Beloeil", [BELOEIL_SQUARE]), prj=None))
    assert report.file_problem == (
        "lcsd000b21a_e.prj is missing and the coordinates (x 7655280 … 7659292, y 1258810 … 1262965) are not "
        "longitudes/latitudes: import the original archive, with its .prj"
    )
    assert boundary_codes(db) == set()


def test_a_zip_without_prj_in_degrees_is_read_as_longitude_latitude(db, tmp_path):
    members = shapefile_members("munic_s", ("MUS_CO_GEO",), [(("57040",), [BELOEIL_SQUARE])], prj=None)
    report = import_boundary_file(db, write_zip(tmp_path / "munic.zip", members))
    assert (report.imported, report.converted_from) == (1, None)
    assert_positions(boundaries(db, ["57040"])["57040"]["coordinates"][0], BELOEIL_SQUARE)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncated", "unreadable ZIP archive (File is not a zip file)"),
        ("no_dbf", ".dbf missing beside lcsd000b21a_e.shp (a shapefile is at least .shp, .shx and .dbf)"),
        ("no_shp", "the archive holds no shapefile (.shp); a GeoJSON file is imported as it is, not zipped"),
        ("bad_prj", "unknown coordinate system (.prj): "),
        ("no_code", "no polygon layer with a municipality code (code, code_mun, mun_code, codmun, cod_mun, "
                    "code_geo, codegeo, geocode, mus_co_geo, csduid) among: lcsd000b21a_e"),
        ("pdf", "neither GeoJSON nor a shapefile (a .zip of .shp, .shx, .dbf, .prj, or a .shp file)"),
    ],
)
def test_broken_archives_are_refused_with_a_clear_reason(db, tmp_path, monkeypatch, damage, message):
    monkeypatch.setenv("RELAIS_LANGUAGE", "en")
    fields = ("NAME", "PRUID") if damage == "no_code" else CSD_FIELDS
    records = census_subdivisions(("2457040", "Beloeil", [BELOEIL_SQUARE]))
    if damage == "no_code":
        records = [(("Beloeil", "24"), rings) for _values, rings in records]
    prj = "PROJCS[nonsense]" if damage == "bad_prj" else STATCAN_PRJ
    members = shapefile_members("lcsd000b21a_e", fields, records, prj)
    if damage == "no_dbf":
        del members["lcsd000b21a_e.dbf"]
    if damage == "no_shp":
        members = {"lisezmoi.txt": b"Limites", "limites.geojson": b"{}"}
    path = write_zip(tmp_path / "lcsd000b21a_e.zip", members)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:600])
    if damage == "pdf":
        path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    report = import_boundary_file(db, path)
    assert report.file_problem.startswith(message)
    assert not report.written
    assert boundary_codes(db) == set()


# The command line


def test_command_prints_the_layer_the_conversion_and_what_was_skipped(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RELAIS_LANGUAGE", "fr")
    path = statcan_zip(
        tmp_path,
        ("2457040", "Beloeil", [BELOEIL_SQUARE]),
        ("3506008", "Ottawa", [square(-75.8, 45.3, 0.1)]),
    )
    assert run_geo_import_command(db, path) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:5] == [
        f"{path} : 2 entité(s) lue(s) ; contours de 1 municipalité(s) importés (1 nouveau(x), 0 remplacé(s)).",
        "Couche lue : lcsd000b21a_e.",
        "Coordonnées converties de « NAD83_Statistics_Canada_Lambert » en longitude/latitude WGS84.",
        "Contours simplifiés à environ 100 m : 5 sommets conservés sur 5.",
        "1 entité(s) d'une autre province ignorée(s) (PRUID autre que 24, ou code de recensement hors 24xxxxx).",
    ]


def test_command_refuses_a_broken_zip_with_exit_1(db, database_url, tmp_path):
    path = tmp_path / "lcsd000b21a_e.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "fr"}
    finished = subprocess.run(
        [sys.executable, "-m", "dashboard", "geo", "import", str(path), "--layer", "munic_s"],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, check=False, text=True, timeout=120,
    )
    assert finished.returncode == 1
    assert f"{path} est refusé : archive ZIP illisible (File is not a zip file) ; rien n'a été importé." in (
        finished.stderr
    )
    assert boundary_codes(db) == set()
