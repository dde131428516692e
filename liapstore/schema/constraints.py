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
