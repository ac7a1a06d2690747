"""Back-end adapters: one folder per back-end, each with renderer, client, errors, simulator, settings."""
