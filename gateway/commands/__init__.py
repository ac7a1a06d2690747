"""Command groups of the ``gateway`` CLI that work on the database directly (tokens, clients, audit)."""
