"""The outbox: deliveries committed with their outcome, claimed and worked by the worker."""
