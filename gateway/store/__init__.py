"""Persistence: tables, engine, migrations. Ordinary reads and writes go through SQLAlchemy Core."""
