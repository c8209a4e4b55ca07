import importlib.util
import sys
import types


def _defer_the_iri_grammar() -> None:
    """jsonschema checks the `iri` and `iri-reference` formats with rfc3987-syntax, whose
    import compiles an Earley parser: about 0.9 s of CPU, two thirds of `django.setup()`, in
    every process (web, worker, beat, each manage.py command) for formats that templates
    rarely use. Its module stands here as a stand-in until the first such check, which
    imports the real one: the same checks, the grammar built only when needed."""
    name = "rfc3987_syntax"
    spec = importlib.util.find_spec(name) if name not in sys.modules else None
    if spec is None or spec.submodule_search_locations is None:
        return
    stand_in = types.ModuleType(name)
    stand_in.__path__ = list(spec.submodule_search_locations)  # its submodules still import

    def is_valid_syntax(term: str, value: str) -> bool:
        from rfc3987_syntax.syntax_helpers import is_valid_syntax as real

        return real(term, value)

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[name] = stand_in


_defer_the_iri_grammar()

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
