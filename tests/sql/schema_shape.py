"""A table's shape (primary key, nullability, defaults, uniqueness, foreign
keys with their ON DELETE rule, VARCHAR lengths), read from a peewee model or from a
database's catalog, and the differences between two shapes.

The models are what the memory backend enforces and what queries assume;
the catalog is what the hand-written SQL of each dialect built. The drift
test (test_schema_drift.py) compares the two after migrating a fresh
database, on SQLite and on PostgreSQL.
"""
import re
from dataclasses import dataclass, field

from peewee import CharField, ForeignKeyField

from liapstore.schema.models import key_columns

# PostgreSQL's pg_constraint.confdeltype letters, as SQL spells the rules.
_PG_DELETE_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
                    "d": "SET DEFAULT"}


@dataclass
class Shape:
    """What one table promises about its rows."""
    columns: set
    primary_key: tuple
    nullable: set                  # columns that accept NULL
    defaults: dict                 # column -> Python value of the default
    unique: set                    # tuples of columns, the primary key excluded
    foreign_keys: set              # (column, referenced table, referenced column, ON DELETE)
    # Columns whose database default is not a constant (now(), a sequence):
    # not compared, since the models state no such default.
    opaque_defaults: set = field(default_factory=set)
    lengths: dict = field(default_factory=dict)   # VARCHAR column -> its length


def from_model(model):
    """The shape the model describes."""
    meta = model._meta
    fields = meta.sorted_fields
    key = key_columns(model)
    unique = {(f.column_name,) for f in fields if f.unique}
    unique |= {tuple(columns) for columns, is_unique in meta.indexes if is_unique}
    defaults = {}
    for f in fields:
        if f.default is not None:
            defaults[f.column_name] = f.default() if callable(f.default) else f.default
    return Shape(
        columns={f.column_name for f in fields},
        primary_key=key,
        nullable={f.column_name for f in fields if f.null and f.column_name not in key},
        defaults=defaults,
        unique=unique - {key},
        foreign_keys={(f.column_name, f.rel_model._meta.table_name, f.rel_field.column_name,
                       (f.on_delete or "NO ACTION").upper())
                      for f in fields if isinstance(f, ForeignKeyField)},
        lengths={f.column_name: f.max_length for f in fields if isinstance(f, CharField)},
    )


def _rows(db, sql, params=()):
    return db.execute_sql(sql, params).fetchall()


def from_database(db, dialect, model):
    """The shape of ``model``'s table as the database's catalog describes it.

    Defaults are evaluated by the database itself (``SELECT <default>``) and
    read back through the model's field, so ``DEFAULT 1`` on SQLite and
    ``DEFAULT true`` on PostgreSQL both read as True for a BooleanField.
    """
    table = model._meta.table_name
    reader = _sqlite if dialect == "sqlite" else _postgres
    shape, raw_defaults = reader(db, table)
    for column, expression in raw_defaults.items():
        f = model._meta.columns.get(column)
        if f is None or f.default is None or "nextval(" in expression:
            # A default the models do not state (now(), gen_random_uuid(),
            # a sequence) is not compared, and not evaluated either.
            shape.opaque_defaults.add(column)
            continue
        [(value,)] = _rows(db, f"SELECT {expression}")
        shape.defaults[column] = f.python_value(value)
    return shape


def _sqlite(db, table):
    info = _rows(db, f'PRAGMA table_info("{table}")')
    if not info:
        raise LookupError(f"no table {table}")
    key = tuple(name for _, name, *_, pk in sorted(info, key=lambda r: r[5]) if pk)
    nullable = set()
    for _, name, kind, notnull, _, pk in info:
        # An INTEGER PRIMARY KEY is the rowid, never NULL, although
        # table_info does not call it NOT NULL; any other key column without
        # NOT NULL does accept NULL on SQLite.
        rowid = pk and len(key) == 1 and kind.upper() == "INTEGER"
        if not notnull and not rowid:
            nullable.add(name)
    unique = set()
    for _, name, is_unique, origin, partial in _rows(db, f'PRAGMA index_list("{table}")'):
        if not is_unique or origin == "pk":
            continue
        columns = tuple(c for _, _, c in sorted(_rows(db, f'PRAGMA index_info("{name}")')))
        # A partial or expression index is not a uniqueness the models can say.
        unique.add(columns if not partial and None not in columns else ("<partial or expression>", name))
    foreign_keys = set()
    for _, _, ref, column, ref_column, _, on_delete, _ in _rows(db, f'PRAGMA foreign_key_list("{table}")'):
        if ref_column is None:  # REFERENCES t without a column: t's primary key
            ref_column = next(r[1] for r in _rows(db, f'PRAGMA table_info("{ref}")') if r[5])
        foreign_keys.add((column, ref, ref_column, on_delete.upper()))
    lengths = {}
    for _, name, kind, *_ in info:
        m = re.fullmatch(r"VARCHAR\((\d+)\)", kind.upper())
        if m:
            lengths[name] = int(m.group(1))
    shape = Shape(columns={r[1] for r in info}, primary_key=key, nullable=nullable, defaults={},
                  unique=unique - {key}, foreign_keys=foreign_keys, lengths=lengths)
    return shape, {r[1]: r[4] for r in info if r[4] is not None}


def _postgres(db, table):
    columns = _rows(db, """
        SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
               CASE WHEN a.atttypid = 'varchar'::regtype THEN a.atttypmod - 4 END
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped""", (table,))
    if not columns:
        raise LookupError(f"no table {table}")
    [(key,)] = _rows(db, """
        SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = to_regclass(%s) AND c.contype = 'p'""", (table,))
    unique = set()
    for name, columns_of, partial_or_expression in _rows(db, """
            SELECT i.indexrelid::regclass::text,
                   array_agg(a.attname ORDER BY k.ord),
                   bool_or(i.indpred IS NOT NULL OR i.indexprs IS NOT NULL)
            FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND NOT i.indisprimary
            GROUP BY i.indexrelid""", (table,)):
        columns_of = tuple(columns_of)
        unique.add(("<partial or expression>", name) if partial_or_expression or None in columns_of
                   else columns_of)
    foreign_keys = set()
    for column, ref, ref_column, rule in _rows(db, """
            SELECT a.attname, c.confrelid::regclass::text, ra.attname, c.confdeltype
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
            WHERE c.conrelid = to_regclass(%s) AND c.contype = 'f'
              AND cardinality(c.conkey) = 1 AND c.conparentid = 0""", (table,)):
        foreign_keys.add((column, ref, ref_column, _PG_DELETE_RULES[rule]))
    shape = Shape(columns={c for c, *_ in columns}, primary_key=tuple(key or ()),
                  nullable={c for c, notnull, *_ in columns if not notnull}, defaults={},
                  unique=unique - {tuple(key or ())}, foreign_keys=foreign_keys,
                  lengths={c: n for c, *_, n in columns if n is not None})
    return shape, {c: default for c, _, default, _ in columns if default is not None}


def differences(table, models, database):
    """Readable lines, one per way the database's shape departs from the models'."""
    out = []
    if models.columns != database.columns:
        out.append(f"{table}: columns {sorted(models.columns - database.columns)} only in the "
                   f"models, {sorted(database.columns - models.columns)} only in the database")
    if models.primary_key != database.primary_key:
        out.append(f"{table}: primary key {models.primary_key} in the models, "
                   f"{database.primary_key} in the database")
    for column in sorted(models.columns & database.columns):
        if (column in models.nullable) != (column in database.nullable):
            says = "nullable" if column in models.nullable else "NOT NULL"
            has = "nullable" if column in database.nullable else "NOT NULL"
            out.append(f"{table}.{column}: {says} in the models, {has} in the database")
    for column, value in sorted(models.defaults.items()):
        if column not in database.defaults:
            out.append(f"{table}.{column}: default {value!r} in the models, none in the database")
        elif (type(value), value) != (type(database.defaults[column]), database.defaults[column]):
            out.append(f"{table}.{column}: default {value!r} in the models, "
                       f"{database.defaults[column]!r} in the database")
    for column in sorted(set(models.lengths) | set(database.lengths)):
        says, has = models.lengths.get(column), database.lengths.get(column)
        if says != has:
            out.append(f"{table}.{column}: VARCHAR({says}) in the models, VARCHAR({has}) in the database")
    for columns in sorted(models.unique - database.unique):
        out.append(f"{table}: unique {columns} in the models, not in the database")
    for columns in sorted(database.unique - models.unique):
        out.append(f"{table}: unique {columns} in the database, not in the models")
    for fk in sorted(models.foreign_keys - database.foreign_keys):
        out.append(f"{table}: foreign key {fk} in the models, not in the database")
    for fk in sorted(database.foreign_keys - models.foreign_keys):
        out.append(f"{table}: foreign key {fk} in the database, not in the models")
    return out


def drift(db, dialect, models):
    """Every difference between ``models`` and the migrated database ``db``."""
    out = []
    for model in models:
        table = model._meta.table_name
        out += differences(table, from_model(model), from_database(db, dialect, model))
    return out

