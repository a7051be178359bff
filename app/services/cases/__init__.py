"""Community-rights cases (docs/CASES.md): the rules (`rules`, no database), who may do what (`access`), the
rows and their shape for a reader (`records`), the writes (`write`), the reads (`read`), the register's exports
and feeds (`feeds`) and the command line's sessions (`terminal`)."""

from app.services.cases.read import CaseFilters, case_history, due_soon, get_case, list_cases
from app.services.cases.write import add_document, add_event, get_regime, open_case, set_regime, update_case

__all__ = [
    "CaseFilters",
    "add_document",
    "add_event",
    "case_history",
    "due_soon",
    "get_case",
    "get_regime",
    "list_cases",
    "open_case",
    "set_regime",
    "update_case",
]
