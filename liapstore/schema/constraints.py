"""The schema's CHECK constraints as Python, shared by every backend.

The SQL files carry the same rules as CHECK constraints; these copies let the
store reject bad input before any I/O and let the memory backend enforce what
PostgreSQL would, so a program that works on ``memory://`` does not fail later
on PostgreSQL.
"""
import ipaddress
import re

# Always used with fullmatch(): "$" alone would also accept a trailing newline.
USERNAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{3,50}")
ROOM_STATUSES = ("waiting", "playing", "finished", "abandoned")
GAME_PHASES = ("NOT_STARTED", "PREPARATION", "DECLARATION", "TURN", "SCORING", "GAME_OVER")
SEAT_POSITIONS = range(0, 4)
FRIENDSHIP_STATUSES = ("pending", "accepted", "blocked")

#: The CHECK constraint of each table, as (column, test of the column's value).
#: The SQL files carry the same CHECKs (a CHECK written in one place and not
#: the other fails tests/sql/test_schema_checks.py); the memory backend
#: enforces these.
CHECKS = {
    "players": ("username", lambda x: bool(USERNAME_PATTERN.fullmatch(x))),
    "rooms": ("status", lambda x: x in ROOM_STATUSES),
    "games": ("current_phase", lambda x: x in GAME_PHASES),
    "game_players": ("position", lambda x: x in SEAT_POSITIONS),
    "friendships": ("status", lambda x: x in FRIENDSHIP_STATUSES),
}

# Column sizes from DATABASE_SCHEMA.md, checked in Python because SQLite
# does not enforce VARCHAR lengths.
MAX_LENGTHS = {
    "display_name": 100,
    "email": 255,
    "room_code": 20,
    "room_name": 100,
    "action_type": 50,
    "event_type": 50,
    "user_agent": 1000,
}


def valid_inet(value):
    """True when ``value`` is an address (or network) PostgreSQL's INET accepts."""
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        return False
    return True
