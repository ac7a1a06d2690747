"""Guidance outcomes: accept, plan, store with their deliveries, and report status."""
