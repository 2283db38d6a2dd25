"""A database of its own on one backend, for tests that migrate step by step from an older schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from dashboard.database import build_engine
from dashboard.scratch import scratch_postgres_url


@contextmanager
def empty_database(backend: str, directory: Path) -> Iterator[Engine]:
    """An engine on a new, empty database: an SQLite file in the directory, or a throwaway PostgreSQL database."""
    if backend == "sqlite":
        engine = build_engine(f"sqlite:///{directory / 'old.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with scratch_postgres_url() as url:
        engine = build_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
