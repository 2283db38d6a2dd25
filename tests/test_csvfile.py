"""Reading delimited files the way spreadsheets export them."""

from __future__ import annotations

import pytest

from dashboard.ingest.csv_file import CsvFileError, detect_delimiter, read_table

COLUMNS = ("event_id", "police_service", "arrest", "subject_key")
REQUIRED = ("event_id", "police_service", "arrest")


def _read(text: str, encoding: str = "utf-8"):
    return read_table(text.encode(encoding), COLUMNS, REQUIRED)


def test_comma_file_gives_values_by_column_and_spreadsheet_lines():
    table = _read("event_id,police_service,arrest,subject_key\nE1,SPS,oui,K1\nE2,RIPRSL,non,\n")
    assert table.delimiter == ","
    assert table.header == ("event_id", "police_service", "arrest", "subject_key")
    assert [(record.line, record.values) for record in table.records] == [
        (2, {"event_id": "E1", "police_service": "SPS", "arrest": "oui", "subject_key": "K1"}),
        (3, {"event_id": "E2", "police_service": "RIPRSL", "arrest": "non", "subject_key": ""}),
    ]


def test_french_spreadsheet_export_semicolons_bom_crlf_and_loose_header():
    data = "\ufeff Event_ID ;POLICE_SERVICE;Arrest ;Remarques\r\nE1;sps;Oui;« appel, voisin »\r\n".encode("utf-8")
    table = read_table(data, COLUMNS, REQUIRED)
    assert table.delimiter == ";"
    assert table.header == (" Event_ID ", "POLICE_SERVICE", "Arrest ", "Remarques")
    (record,) = table.records
    assert record.values == {"event_id": "E1", "police_service": "sps", "arrest": "Oui", "subject_key": ""}
    assert record.raw == ("E1", "sps", "Oui", "« appel, voisin »")


def test_delimiter_is_the_one_that_names_the_known_columns():
    # Commas inside the values of a `;` file must not win the detection.
    text = 'event_id;police_service;arrest\n"a,b,c,d,e";SPS;oui\n'
    assert detect_delimiter(text, COLUMNS) == ";"
    assert detect_delimiter("remarque;x,event_id,arrest\n", COLUMNS) == ","


def test_column_order_is_free_and_unknown_columns_are_ignored():
    table = _read("notes,arrest,police_service,event_id\nbonjour,1,SPS,E9\n")
    assert table.records[0].values == {"event_id": "E9", "police_service": "SPS", "arrest": "1", "subject_key": ""}


def test_values_are_stripped_and_spaces_only_is_empty():
    table = _read("event_id,police_service,arrest,subject_key\n  E1 , SPS ,\toui ,   \n")
    assert table.records[0].values == {"event_id": "E1", "police_service": "SPS", "arrest": "oui", "subject_key": ""}
    assert table.records[0].raw == ("  E1 ", " SPS ", "\toui ", "   ")


def test_blank_lines_are_skipped_but_keep_their_line_numbers():
    text = "event_id;police_service;arrest\r\n\r\nE1;SPS;oui\r\n;;\r\n ; ;\r\n\r\nE2;SPS;non\r\n"
    assert [record.line for record in _read(text).records] == [3, 7]


def test_a_quoted_multi_line_value_is_one_spreadsheet_line():
    text = 'event_id,police_service,arrest,subject_key\nE1,SPS,oui,"two\nlines"\nE2,SPS,non,\n'
    records = _read(text).records
    assert [record.line for record in records] == [2, 3]
    assert records[0].values["subject_key"] == "two\nlines"


def test_short_rows_read_as_empty_and_extra_values_are_flagged():
    table = _read("event_id,police_service,arrest\nE1,SPS\nE2,SPS,oui,,\nE3,SPS,oui,surplus\n")
    assert table.records[0].values["arrest"] == ""
    assert [record.extra_values for record in table.records] == [False, False, True]


def test_not_utf8_rejects_the_file_and_says_where():
    with pytest.raises(CsvFileError) as raised:
        _read("event_id,police_service,arrest\nE1,SPS,oui\nE2,Montréal,non\n", encoding="cp1252")
    assert (raised.value.kind, raised.value.line) == ("not_utf8", 3)


@pytest.mark.parametrize(
    ("header", "kind", "columns"),
    [
        ("event_id,arrest", "missing_columns", ("police_service",)),
        ("", "missing_columns", REQUIRED),
        ("event_id,police_service,arrest, EVENT_ID ", "repeated_columns", ("event_id",)),
    ],
)
def test_header_problems_reject_the_whole_file(header, kind, columns):
    with pytest.raises(CsvFileError) as raised:
        _read(header + "\nE1,SPS,oui,E1\n" if header else "")
    assert (raised.value.kind, raised.value.columns) == (kind, columns)


def test_any_repeated_column_rejects_the_file_even_an_unknown_one():
    with pytest.raises(CsvFileError) as raised:
        _read("event_id,police_service,arrest,note,Note\nE1,SPS,oui,a,b\n")
    assert (raised.value.kind, list(raised.value.columns)) == ("repeated_columns", ["note"])


def test_blank_header_cells_after_a_trailing_delimiter_are_not_repeated_columns():
    table = _read("event_id;police_service;arrest;;\nE1;SPS;oui;;\n")
    assert table.records[0].values["event_id"] == "E1"


@pytest.mark.parametrize("start", ['event_id,police_service,arrest\nE1,SPS,"oui\n', '"event_id,'])
def test_an_unclosed_quote_that_swallows_the_file_is_malformed(start):
    with pytest.raises(CsvFileError) as raised:
        _read(start + "x" * 200_000)
    assert raised.value.kind == "malformed"
