"""The refusal every ingest check raises: a reason in the user's language, with its catalogue key."""

from __future__ import annotations

from dashboard.i18n import t


class InvalidValue(ValueError):
    """A value, a row, a feature or a whole file refused, with the reason in the user's language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(t(key, **values))
        self.key = key
