"""Structured conditions, as ADaM specs use them: see :mod:`trialflow.conditions`.

The evaluator lives in the core so that every layer reads conditions the same way (the
TLF layer selects populations and records with it, and may not import ``adam``); this
module keeps ``adam.conditions``' public names for the ADaM code and its callers.
"""

from __future__ import annotations

from trialflow.conditions import (
    COMBINATORS,
    OPERATORS,
    ConditionError,
    check_condition,
    condition_variables,
    is_blank,
    select,
    validate_condition,
)

__all__ = ["COMBINATORS", "OPERATORS", "ConditionError", "check_condition",
           "condition_variables", "is_blank", "select", "validate_condition"]
