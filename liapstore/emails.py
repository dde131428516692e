"""Players' e-mail addresses: encrypted under a key per player, found through
a blind index. A mixin of Store; the keys and the cryptography are in
``liapstore/keys.py``, the rules in the README's security section.

What is stored for an address: ``players.email_encrypted`` (the address
encrypted under the player's data key), ``players.email_blind_index`` (its
keyed hash, UNIQUE) and the player's row in ``player_keys`` (the data key,
wrapped under the master key). ``players.email`` holds plain text only for
addresses written before migration 0006, until ``encrypt_pending_emails``.

Which operations need which key: writing an address needs both keys; reading
a player whose address is encrypted (every operation that returns a Player)
needs the master key; ``get_player_by_email`` needs the blind-index key too.
A missing key raises KeyUnavailable; a player without an address needs none.
An address whose data key was destroyed (an erased player, seen in a restored
older snapshot) reads as None: it is erased.
"""
from . import keys, validate as v
from .errors import Conflict, InvalidInput, NotFound
from .records import Player, from_row


class Emails:
    """E-mail encryption, lookup and key management, over the table primitives."""

    def _address_changes(self, player_id, address, *, new_player=False):
        """``(changes, key_row)``: the ``players`` columns that store
        ``address`` (None: no address), and the player's new ``player_keys``
        row when they have no data key yet (None otherwise), which the caller
        inserts in the same transaction. Nothing is written here."""
        if address is None:
            return {"email": None, "email_encrypted": None, "email_blind_index": None}, None
        blind = self._keyring.blind_index(address)
        found = [] if new_player else self._select("player_keys", [("player_id", "=", player_id)], ())
        key_row = None
        if found:
            data_key = self._keyring.unwrap(player_id, found[0]["wrapped_key"],
                                            found[0]["key_version"])
        else:
            data_key = keys.new_data_key()
            wrapped, version = self._keyring.wrap(player_id, data_key)
            key_row = {"player_id": player_id, "wrapped_key": wrapped, "key_version": version,
                       "created_at": v.now()}
        return {"email": None, "email_blind_index": blind,
                "email_encrypted": self._encrypt_email(data_key, player_id, address)}, key_row

    def _encrypt_email(self, data_key, player_id, address):
        """The stored form of ``address`` under ``data_key``: AES-256-GCM bound
        to the player. PostgreSQL overrides it with pgcrypto's pgp_sym_encrypt."""
        return keys.seal(data_key, address.encode(), keys.email_aad(player_id))

    def _decrypt_emails(self, items):
        """The addresses of ``items``, ``(data_key, player_id, ciphertext)``
        each. Reads this module's own format; PostgreSQL also reads pgcrypto's."""
        return [keys.open_sealed(k, c, keys.email_aad(p), f"the e-mail of player {p}").decode()
                for k, p, c in items]

    def _players(self, rows):
        """Player records for ``players`` rows, their addresses decrypted."""
        return [from_row(Player, r) for r in self._decrypt_rows(rows)]

    def _decrypt_rows(self, rows):
        """``rows`` of ``players`` with ``email`` set to each decrypted address
        (one read of player_keys and one decryption batch for all of them)."""
        sealed = [r for r in rows if r["email_encrypted"] is not None]
        if sealed:
            found = {k["player_id"]: k for k in self._select(
                "player_keys", [("player_id", "in", [r["id"] for r in sealed])], ())}
            readable = [r for r in sealed if r["id"] in found]
            for r in sealed:
                r["email"] = None  # Erased (the key is gone) unless decrypted below.
            items = [(self._keyring.unwrap(r["id"], found[r["id"]]["wrapped_key"],
                                           found[r["id"]]["key_version"]),
                      r["id"], r["email_encrypted"]) for r in readable]
            for r, address in zip(readable, self._decrypt_emails(items) if items else []):
                r["email"] = address
        return rows

    def _player(self, row):
        return self._players([row])[0]

    def get_player_by_email(self, email):
        """The player with this address, compared after stripping blanks and
        folding case; NotFound if none. Needs the blind-index key (and the
        master key to return the address)."""
        address = v.email(email)
        if address is None:
            raise InvalidInput("email must be an address, not None")
        rows = self._select("players", [("email_blind_index", "=",
                                         self._keyring.blind_index(address))], (), limit=1)
        # An address from before 0006 not yet encrypted has no blind index.
        rows = rows or self._select("players", [("email", "=", address)], (), limit=1)
        if not rows:
            raise NotFound("no player with this e-mail address")
        return self._player(rows[0])

    def encrypt_pending_emails(self, *, batch_size=100):
        """Encrypt the addresses stored in plain text before migration 0006
        (``players.email``), each in place; return ``{"encrypted": n,
        "conflicts": [player ids]}``. A conflict is a pending address that
        is, once case is folded, another player's: it stays pending, to be
        resolved by hand. Idempotent and resumable: each batch commits."""
        done, conflicts = 0, []
        while True:
            skip = [("id", "not in", conflicts)]
            rows = self._select("players", [("email", "!=", None)] + skip, ("id",),
                                limit=v.integer(batch_size, "batch_size", 1, 10_000))
            if not rows:
                return {"encrypted": done, "conflicts": conflicts}
            for r in rows:
                try:
                    with self.transaction():
                        changes, key_row = self._address_changes(r["id"], r["email"])
                        if key_row:
                            self._insert("player_keys", key_row)
                        self._update("players", [("id", "=", r["id"]), ("email", "=", r["email"])],
                                     changes)
                    done += 1
                except Conflict:
                    conflicts.append(r["id"])

    def _destroy_player_key(self, player_id):
        """Delete the player's data key, for erasure: every stored copy of
        their encrypted address (this database, older backups of its data)
        becomes unreadable. Returns whether there was a key. Inside the
        caller's transaction, if any."""
        return bool(self._delete("player_keys", [("player_id", "=",
                                                  v.uuid_(player_id, "player_id"))]))

    def rewrap_player_keys(self, old_keyring, new_key, *, batch_size=500, on_batch=None):
        """Re-wrap every data key under ``new_key`` (bytes); the addresses
        themselves stay as they are, readable through the re-wrapped keys.
        ``old_keyring`` opens the keys not yet moved. Each batch commits on its
        own, and a key already under ``new_key``'s version is skipped, so an
        interrupted run is finished by running it again. Returns how many
        keys were re-wrapped. ``on_batch(n)`` is called after each batch."""
        target = keys.key_version(new_key)
        batch_size = v.integer(batch_size, "batch_size", 1, 100_000)
        moved = 0
        while True:
            with self.transaction():
                rows = self._select("player_keys", [("key_version", "!=", target)],
                                    ("player_id",), limit=batch_size)
                for r in rows:
                    data_key = old_keyring.unwrap(r["player_id"], r["wrapped_key"],
                                                  r["key_version"])
                    wrapped, _ = old_keyring.wrap(r["player_id"], data_key, master=new_key)
                    self._update("player_keys", [("player_id", "=", r["player_id"]),
                                                 ("key_version", "=", r["key_version"])],
                                 {"wrapped_key": wrapped, "key_version": target})
            if not rows:
                return moved
            moved += len(rows)
            if on_batch:
                on_batch(len(rows))

    def count_pending_emails(self):
        """How many addresses are still stored in plain text (from before 0006)."""
        return len(self._select("players", [("email", "!=", None)], ()))

    def key_versions(self):
        """``{key_version: number of data keys wrapped under it}``."""
        counts = {}
        for r in self._select("player_keys", [], ()):
            counts[r["key_version"]] = counts.get(r["key_version"], 0) + 1
        return counts
