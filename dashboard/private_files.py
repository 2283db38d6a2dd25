"""Files that hold personal data or unsuppressed figures: their owner's alone (0600) from the first byte."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

OWNER_ONLY = 0o600


@contextmanager
def owner_only_file(path: Path, mode: str = "wb", **open_options) -> Iterator[IO]:
    """A file to write, 0600 whatever the umask, that replaces `path` once written whole (removed on failure)."""
    # A new file of its own (O_EXCL), never an existing one: truncating a file someone else can read, or following
    # a link planted at `path`, would hand them what is written.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        # mkstemp asks for 0600 less the umask; set it outright before any byte is written.
        os.fchmod(descriptor, OWNER_ONLY)
        with os.fdopen(descriptor, mode, **open_options) as handle:
            descriptor = -1
            yield handle
        os.replace(temporary, path)
    except BaseException:
        if descriptor != -1:
            os.close(descriptor)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_owner_only(path: Path, data: bytes) -> None:
    """Write bytes to `path` as a file only its owner may read or write."""
    with owner_only_file(path) as handle:
        handle.write(data)
