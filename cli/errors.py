"""The one error type of the command line (printed as a single line, exit status 2) and the argument
checks that several commands share, so that each is worded once."""

MAX_PROMPT_CHARS = 2000  # characters of a prompt or negative prompt (as the server's default limit)


class CLIError(Exception):
    """A user error (bad argument, missing file) with a message that names the fix."""


def check_prompt(text: str, name: str, required: bool = True) -> None:
    """CLIError unless `text` (the argument `name`) has at most MAX_PROMPT_CHARS characters and,
    when `required`, something besides white space."""
    if required and not text.strip():
        raise CLIError(f"{name} must not be empty")
    if len(text) > MAX_PROMPT_CHARS:
        raise CLIError(f"{name} must have at most {MAX_PROMPT_CHARS} characters, got {len(text)}")


def check_true_cfg_scale_option(value: float) -> None:
    """CLIError unless `--true-cfg-scale` is in the range every model accepts (`check_true_cfg_scale`)."""
    from intrinsix.generator.defaults import check_true_cfg_scale

    try:
        check_true_cfg_scale(value, "--true-cfg-scale")
    except ValueError as exc:
        raise CLIError(str(exc)) from None
