"""Files of personal data or unsuppressed figures are their owner's alone (0600) from their first byte."""

from __future__ import annotations

import os
import stat

import pytest

from dashboard.private_files import owner_only_file, write_owner_only


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask most systems give: files 0644 unless the code asks otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_new_file_is_0600_before_its_first_byte(tmp_path):
    path = tmp_path / "rejects.csv"
    with owner_only_file(path, "w", encoding="utf-8") as handle:
        assert stat.S_IMODE(os.fstat(handle.fileno()).st_mode) == 0o600
        handle.write("E1;Tremblay\n")
    assert mode(path) == 0o600 and path.read_text(encoding="utf-8") == "E1;Tremblay\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["rejects.csv"]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_whatever_the_umask(tmp_path, umask):
    os.umask(umask)
    write_owner_only(tmp_path / "exact.zip", b"PK")
    assert mode(tmp_path / "exact.zip") == 0o600


def test_a_readable_file_already_there_is_replaced_not_reopened(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    with path.open("rb") as reader:  # someone who opened the old file reads the old bytes, never the new ones
        write_owner_only(path, b"new figures")
        assert reader.read() == b"old"
    assert (mode(path), path.read_bytes()) == (0o600, b"new figures")


def test_a_link_planted_at_the_path_is_not_followed(tmp_path):
    elsewhere = tmp_path / "theirs.txt"
    elsewhere.write_bytes(b"")
    os.chmod(elsewhere, 0o666)
    path = tmp_path / "rejects.csv"
    path.symlink_to(elsewhere)
    write_owner_only(path, b"E1;Tremblay\n")
    assert elsewhere.read_bytes() == b""
    assert not path.is_symlink() and mode(path) == 0o600 and path.read_bytes() == b"E1;Tremblay\n"


def test_a_write_that_fails_leaves_nothing_behind(tmp_path):
    path = tmp_path / "rejects.csv"
    with pytest.raises(RuntimeError), owner_only_file(path) as handle:
        handle.write(b"half")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
