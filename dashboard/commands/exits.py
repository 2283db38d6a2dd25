"""Exit statuses of every command, and the error that means "the command line cannot be carried out"."""

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command line that cannot be carried out as given (exit 2)."""
