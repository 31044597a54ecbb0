"""The one refusal type: a rule says no with a code, the form field at fault, and parameters.

Services and domain functions raise `RuleError` (or a subclass that carries what a page needs to show
more, such as the clashing client). They never know the words: `crm/routes/refusals.py` holds the text of
every code in one catalogue, and its `show(error, form)` puts each refusal on its form field, or flashes it
when the form has no such field. `NotFound` and `NotAllowed` are the two refusals a route turns into
404 and 403 (the error handlers do it for any that is not caught).
"""
from __future__ import annotations

from collections.abc import Iterable


class RuleError(Exception):
    """A domain rule refused the request: `code` names the rule, `field` the form field at fault."""

    def __init__(self, code: str, field: str | None = None, /, **params: object):
        super().__init__(code if field is None else f"{code} ({field})")
        self.code = code
        self.field = field
        self.params = params
        self.all: tuple[RuleError, ...] = (self,)

    @classmethod
    def several(cls, errors: Iterable[RuleError]) -> RuleError:
        """One refusal that carries several (one per field), so a form shows them all at once."""
        errors = tuple(errors)
        if not errors:
            raise ValueError("several() needs at least one refusal")
        combined = cls(errors[0].code, errors[0].field, **errors[0].params)
        combined.all = errors
        return combined

    def fields(self) -> dict[str, str]:
        """The code of each field at fault (first refusal per field), for tests and JSON answers."""
        found: dict[str, str] = {}
        for error in self.all:
            if error.field is not None:
                found.setdefault(error.field, error.code)
        return found


class LineError(RuleError):
    """One problem on a numbered line of a text someone wrote (an asset CSV, a questionnaire): 1-based
    line, 0 for the text as a whole. `detail` holds the code's own parameters, `params` those and the line."""

    def __init__(self, line: int, code: str, detail: dict[str, object] | None = None) -> None:
        detail = dict(detail or {})
        super().__init__(code, None, line=line, **detail)
        self.line = line
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LineError):
            return NotImplemented
        return (self.line, self.code, self.detail) == (other.line, other.code, other.detail)

    def __hash__(self) -> int:
        return hash((self.line, self.code, tuple(sorted((k, str(v)) for k, v in self.detail.items()))))

    def __repr__(self) -> str:
        return f"LineError({self.line!r}, {self.code!r}, {self.detail!r})"


class NotFound(RuleError):
    """The record does not exist or the user has no business with it: the page is a 404."""

    def __init__(self, what: str = "record", /, **params: object):
        super().__init__("not_found", None, what=what, **params)


class NotAllowed(RuleError):
    """The user may see the record but not do this to it (e.g. an assignee changing the owner): 403."""

    def __init__(self, what: str = "action", /, **params: object):
        super().__init__("not_allowed", None, what=what, **params)


class Conflict(RuleError):
    """Someone changed the record since this form was loaded; nothing was saved."""

    def __init__(self, code: str, field: str | None = None, /, **params: object):
        super().__init__(code, field, **params)
