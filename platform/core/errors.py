from collections.abc import Mapping


class InvalidRequest(Exception):
    """A request a service refused, with messages keyed by field.

    Values are lists of messages, except `inputs`, which maps each input's name to its
    messages (the key "" holds messages about the inputs as a whole).
    """

    def __init__(self, errors: Mapping[str, list[str] | dict[str, list[str]]]):
        super().__init__(errors)
        self.errors = errors


class Conflict(Exception):
    """A request that the current state refuses: a run in progress, a finished run, ..."""
