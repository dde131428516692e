"""The keys that protect players' e-mail addresses, and the cryptography on them.

Two secrets come from configuration, never from the schema or the code:

- the **master key** (``LIAPSTORE_ENCRYPTION_KEY``, or the file named by the
  URL option ``?encryption_key_file=/path``). It never encrypts an address
  itself: every player with an address has a random **data key** of their own,
  kept in the table ``player_keys`` wrapped (AES-256-GCM) under the master key.
  The address is encrypted under the data key: ``pgp_sym_encrypt`` on
  PostgreSQL, AES-256-GCM elsewhere (``Store._encrypt_email``).
- the **blind-index key** (``LIAPSTORE_BLIND_INDEX_KEY``, or
  ``?blind_index_key_file=/path``): ``players.email_blind_index`` is the
  HMAC-SHA-256 of the normalized address (stripped, case-folded) under it, so
  uniqueness and ``get_player_by_email`` work without decrypting anything.

A key is 32 random bytes written as 64 hex digits or as URL-safe base64
(``liapstore keys generate`` prints one). The master-key setting may list
several keys, separated by commas (or one per line in the file): the first
wraps new data keys, the others are still accepted for unwrapping, which is
how a running server keeps working while ``liapstore keys rotate`` moves every
data key to the new master key. Each wrapped key records the ``key_version``
of the master key that wrapped it: a 31-bit fingerprint of that key (an HMAC
of a constant under it, which says nothing about the key).

Why a key per player: erasing a player deletes their ``player_keys`` row
(``Store._destroy_player_key``), after which their address cannot be
decrypted from any copy of the data, including backups taken before the
erasure, as long as those backups do not carry the key store. ``player_keys``
is therefore a *key store*, not data: a backup writes it to a separate key
file, so data snapshots never contain keys (see the README's security section).

``cryptography`` (the ``crypto`` extra) is imported only when an address is
encrypted or decrypted outside PostgreSQL, or a data key is (un)wrapped.
"""
import base64
import binascii
import hashlib
import hmac
import os
import secrets
from urllib.parse import parse_qs, urlsplit

from .errors import InvalidInput, KeyUnavailable

ENCRYPTION_KEY_ENV = "LIAPSTORE_ENCRYPTION_KEY"
BLIND_INDEX_KEY_ENV = "LIAPSTORE_BLIND_INDEX_KEY"
#: URL query options naming key files; every backend ignores them (Store reads them).
URL_OPTIONS = ("encryption_key_file", "blind_index_key_file")

KEY_BYTES = 32
# Ciphertexts this module makes start with this byte; pgcrypto's OpenPGP
# messages never do (their first byte is a packet tag with the top bit set).
AES_FORMAT = b"\x01"
_NONCE = 12


def generate():
    """A new random key, as URL-safe base64 text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_key(text, source):
    """The 32 bytes of a key written as hex or base64; InvalidInput naming
    ``source`` (never echoing the value) when it is not one."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else \
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise InvalidInput(f"{source} is not a key: expected {KEY_BYTES} bytes as "
                           f"{2 * KEY_BYTES} hex digits or URL-safe base64 "
                           "(liapstore keys generate prints one)")
    return raw


def key_version(key):
    """The fingerprint recorded beside each data key wrapped under ``key``."""
    digest = hmac.new(key, b"liapstore master key version", hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def normalize(address):
    """The form of an address its blind index is computed on: two addresses
    that differ only in case or surrounding blanks are the same address."""
    return address.strip().casefold()


class Keyring:
    """The master keys (current first) and the blind-index key of one store."""

    def __init__(self, master_keys=(), blind_index_key=None):
        self.master_keys = list(master_keys)
        self.blind_index_key = blind_index_key
        self._by_version = {key_version(k): k for k in self.master_keys}

    @classmethod
    def from_config(cls, url, environ=None):
        """The keys named by ``url``'s key-file options, else by the environment."""
        environ = os.environ if environ is None else environ
        query = parse_qs(urlsplit(url).query) if isinstance(url, str) and "?" in url else {}

        def read(option, env):
            if option in query:
                path = query[option][-1]
                try:
                    with open(path) as f:
                        return f.read(), f"the key file {path!r} ({option})"
                except OSError as e:
                    raise KeyUnavailable(f"cannot read the key file {path!r} ({option}): "
                                         f"{e.strerror}") from None
            return environ.get(env), f"${env}"

        text, source = read("encryption_key_file", ENCRYPTION_KEY_ENV)
        masters = [parse_key(part, source) for part in (text or "").replace("\n", ",").split(",")
                   if part.strip()]
        text, source = read("blind_index_key_file", BLIND_INDEX_KEY_ENV)
        blind = parse_key(text, source) if text and text.strip() else None
        return cls(masters, blind)

    @property
    def current_version(self):
        """The version of the key new data keys are wrapped under."""
        return key_version(self._master())

    def _master(self):
        if not self.master_keys:
            raise KeyUnavailable(
                "e-mail addresses are encrypted and no encryption key is configured: set "
                f"${ENCRYPTION_KEY_ENV} or the URL option ?encryption_key_file=/path")
        return self.master_keys[0]

    def blind_index(self, address):
        """The hex HMAC-SHA-256 of the normalized address under the blind-index key."""
        if self.blind_index_key is None:
            raise KeyUnavailable(
                "e-mail addresses are indexed under a key and no blind-index key is "
                f"configured: set ${BLIND_INDEX_KEY_ENV} or ?blind_index_key_file=/path")
        return hmac.new(self.blind_index_key, normalize(address).encode(),
                        hashlib.sha256).hexdigest()

    def wrap(self, player_id, data_key, master=None):
        """``(wrapped, version)``: ``data_key`` sealed under the current master
        key (or ``master``), bound to the player it belongs to."""
        master = master or self._master()
        return seal(master, data_key, _aad(player_id)), key_version(master)

    def unwrap(self, player_id, wrapped, version):
        """The data key of ``player_id``; KeyUnavailable when no configured
        master key has ``version`` or the wrapped key does not open under it."""
        master = self._by_version.get(version)
        if master is None:
            self._master()  # No key at all: say that.
            raise KeyUnavailable(
                f"the e-mail key of player {player_id} is wrapped under master key version "
                f"{version}, which is not configured (configured: "
                f"{', '.join(str(v) for v in self._by_version)}); add the old key after the "
                "new one, or finish `liapstore keys rotate`")
        return open_sealed(master, wrapped, _aad(player_id), f"the e-mail key of player {player_id}")


def new_data_key():
    """A fresh random data key for one player."""
    return secrets.token_bytes(KEY_BYTES)


def pgp_passphrase(data_key):
    """The text a data key is handed to pgcrypto as (always as a bound parameter)."""
    return data_key.hex()


def seal(key, plaintext, aad):
    """AES-256-GCM: format byte, 12-byte random nonce, ciphertext and tag."""
    nonce = secrets.token_bytes(_NONCE)
    return AES_FORMAT + nonce + _aesgcm(key).encrypt(nonce, plaintext, aad)


def open_sealed(key, sealed, aad, what):
    """The plaintext of ``seal``'s output; KeyUnavailable if it does not open
    (another key, another player's row, or a changed byte)."""
    from cryptography.exceptions import InvalidTag
    sealed = bytes(sealed)
    if not sealed.startswith(AES_FORMAT) or len(sealed) < 1 + _NONCE + 16:
        raise KeyUnavailable(f"{what} is not in the format of liapstore's AES-GCM; an address "
                             "encrypted by PostgreSQL's pgcrypto can be read only there")
    try:
        return _aesgcm(key).decrypt(sealed[1:1 + _NONCE], sealed[1 + _NONCE:], aad)
    except InvalidTag:
        raise KeyUnavailable(f"{what} does not open under the configured key "
                             "(a wrong key, or the stored bytes were changed)") from None


def email_aad(player_id):
    """What an address's ciphertext is bound to: moving it to another player's
    row makes it unreadable."""
    return b"liapstore email " + player_id.bytes


def _aad(player_id):
    return b"liapstore player key " + player_id.bytes


def _aesgcm(key):
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise KeyUnavailable("encrypting e-mail addresses needs the cryptography package: "
                             "pip install 'liapstore[crypto]'") from None
    return AESGCM(key)
