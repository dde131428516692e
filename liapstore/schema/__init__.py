"""The schema: peewee models, the SQL the ORM cannot express, the migrations."""
