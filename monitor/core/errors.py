"""The one base of every error the tool reports to the user as a sentence, not a traceback."""


class MonitorError(Exception):
    """A failure the user can act on; the message says what to do next."""
