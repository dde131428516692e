"""Update values that are computed by the database, not read and rewritten.

``Add(1)`` means ``column = column + 1``. Statistics use these so that two
games ending at once for the same player cannot lose one of the increments,
which a read-modify-write would under PostgreSQL's READ COMMITTED.
"""
from typing import NamedTuple


class Add(NamedTuple):
    """``column = column + n``."""
    n: int


class AtLeast(NamedTuple):
    """``column = max(column, n)``."""
    n: int
