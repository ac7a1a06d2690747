"""Alembic environment: runs against the URL the gateway passes in, synchronously."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from gateway.store.schema import metadata

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    # Failed statements must not quote their parameters into a migration log.
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
