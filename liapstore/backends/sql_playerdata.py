"""The SQL backends' versions of two player-data primitives (playerdata.py)."""
from ..schema.models import AuditLog

# The audit payload's player id, as the expression idx_audit_log_player indexes.
_AUDIT_SUBJECT = {"sqlite": "json_extract(changed_data, '$.id')",
                  "postgres": "(changed_data ->> 'id')"}
# Row locks exist on PostgreSQL only; SQLite serialises writers with BEGIN IMMEDIATE.
_LOCK_PLAYER = {"postgres": "SELECT 1 FROM players WHERE id = %s FOR UPDATE"}


class SqlPlayerData:
    """Mixin of SqlStore."""

    def _audit_rows_about(self, player_id):
        param = self.db.param
        sql = (f"SELECT {', '.join(f.column_name for f in AuditLog._meta.sorted_fields)} "
               f"FROM audit_log WHERE table_name = 'players' "
               f"AND {_AUDIT_SUBJECT[self.dialect]} = {param}")
        fields = AuditLog._meta.sorted_fields
        with self.translate_errors():
            cursor = self.db.execute_sql(sql, [str(player_id)])
            return [{f.column_name: f.python_value(x) for f, x in zip(fields, row)}
                    for row in cursor.fetchall()]

    def _lock_player(self, player_id):
        sql = _LOCK_PLAYER.get(self.dialect)
        if sql is not None:
            with self.translate_errors():
                self.db.execute_sql(sql, [str(player_id)])
