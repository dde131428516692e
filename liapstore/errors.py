"""The small, flat set of errors a liapstore caller ever sees.

Backends translate their driver's exceptions into these at one boundary
(``SqlStore.translate_errors`` for SQL, the table code for memory), so a game
server can write one ``except`` clause that works on every backend.
"""


class LiapstoreError(Exception):
    """Base class of every error liapstore raises on purpose."""


class InvalidInput(LiapstoreError, ValueError):
    """The caller passed something the schema or the game rules forbid.

    Raised before any I/O wherever the check can be made in Python, so a
    rejected call never leaves anything half-written behind.
    """


class NotFound(LiapstoreError, LookupError):
    """The id, username, room code or token names nothing that exists."""


class Conflict(LiapstoreError):
    """The write collides with data already there.

    A duplicate username or room code, a stale game version (someone else
    advanced the game first), or a different action under a sequence number
    that is already used. Reload and retry, or report it to the player.
    """


class Forbidden(LiapstoreError, PermissionError):
    """The current identity may not do this (see ``Store.acting_as``): a
    player changing someone else's profile or reading their sessions, the
    server changing a profile on a player's behalf. Nothing was written."""


class StorageUnavailable(LiapstoreError):
    """The database cannot be reached or refused the connection.

    The message names the URL with its password hidden.
    """


class SchemaOutdated(StorageUnavailable):
    """The database's schema is missing or older than this liapstore needs.

    The message names both versions; ``liapstore migrate`` (or
    ``connect(url)``, which migrates) brings the schema up to date.
    """


class KeyUnavailable(StorageUnavailable):
    """An encryption key the operation needs is not configured, or does not
    open what is stored (see ``liapstore/keys.py``).

    Raised, for instance, when a player with an e-mail address is read or one
    is written while ``LIAPSTORE_ENCRYPTION_KEY`` is unset: e-mail is then
    unavailable, never silently None. The message never contains a key.
    """


class ArchiveUnreadable(StorageUnavailable):
    """An archived object (a game's log, a month of analytics events) could
    not be read back; see the two cases below. The message names the object."""


class ArchiveMissing(ArchiveUnreadable):
    """The archived object is not in the object store (deleted, or the
    archive URL now names another place)."""


class ArchiveCorrupt(ArchiveUnreadable):
    """The archived object's bytes do not match the checksum recorded when it
    was archived, or do not decompress into what was archived."""
