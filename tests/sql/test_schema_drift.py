"""The peewee models agree with the hand-written SQL of both dialects
(playhouse.schema_diff), so queries never name a column the DDL lacks."""
import pytest
from playhouse.schema_diff import diff_models

from liapstore.schema.models import MODELS

pytestmark = pytest.mark.backends("sqlite", "postgres")


def test_models_match_the_migrated_schema(store):
    diff = diff_models(store.db, MODELS)
    assert diff.create_tables == []
    assert diff.add_columns == [], [f"{f.model._meta.table_name}.{f.column_name}" for f in diff.add_columns]
    assert diff.drop_columns == []


def test_every_model_column_is_in_the_database(store):
    for model in MODELS:
        columns = {c.name for c in store.db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model._meta.table_name
