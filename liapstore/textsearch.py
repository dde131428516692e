"""The one rule for matching room names, shared by every backend.

A name and a query are split into *words* the same way: the text is
lower-cased (Unicode lowercase, as ``str.lower`` and ICU do), then each
maximal run of letters (Unicode categories L*) and decimal digits (Nd) is a
word; everything else separates words (spaces, punctuation, symbols, ``_``,
combining marks). A room matches when every word of the query is one of the
words of its name, in any order.

There is no stemming and there are no stop words ("game" does not find
"Games", "the friday" needs a "the"), and diacritics count ("cafe" does not
find "Café"; "CAFÉ" does). Text is compared as stored, without Unicode
normalization: an "é" written as "e" plus a combining accent (NFD) ends the
word at the accent, so "Cafe\u0301" holds the word "cafe" (on SQLite the
accent stays inside the word instead; schema/README.md). Names in NFC, the
form keyboards produce, behave the same everywhere.

The SQL backends apply the same rule in the database so that an index
serves the search: PostgreSQL with ``liapstore_name_words()`` (ICU's
lowercase and ``[[:alnum:]]``, whatever the database's locale), SQLite with
an FTS5 ``unicode61`` tokenizer limited to the categories ``L* Nd``, without
diacritic removal. schema/README.md lists the few characters on which the
databases' case rules differ from Python's.
"""
import unicodedata


def words(text):
    """The words of ``text`` under the rule above, in order (duplicates kept)."""
    return split(text.lower())


def split(text):
    """The runs of letters and digits in ``text``, case kept.

    The store hands a query to the backends split but not lower-cased, so
    that each one lower-cases it as it lower-cases the names it indexed
    (the database's own rules, which differ from Python's on a few
    characters: see schema/README.md)."""
    out, current = [], []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] == "L" or category == "Nd":
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out
