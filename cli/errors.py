"""The one error type of the command line: printed as a single line, exit status 2."""


class CLIError(Exception):
    """A user error (bad argument, missing file) with a message that names the fix."""
