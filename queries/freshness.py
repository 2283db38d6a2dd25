"""The data version: one number every write and import bumps, read into every cache key."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select, update

from queries.schema import data_version


def current_version(bind: Engine | Connection) -> int:
    """The data version now: it changes whenever stored data does, in any server process."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return current_version(connection)
    return bind.scalar(select(data_version.c.version).where(data_version.c.id == 1)) or 0


def bump_version(connection: Connection) -> None:
    """Count one more change of the stored data, in the writer's transaction."""
    # Last in the writer's transaction where possible: the row stays locked (PostgreSQL) only until its commit.
    connection.execute(update(data_version).where(data_version.c.id == 1).values(version=data_version.c.version + 1))
