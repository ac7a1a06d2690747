"""Mapping sets as versioned configuration: stored versions, validation, diff, dry-run, activation.

Pure modules (``document``, ``validation``, ``diff``, ``facts``, ``dryrun``, ``conceptmap``) hold the
rules; ``store`` and ``watch`` are the database side; ``routes`` the admin API.
"""
