"""Kela phone-appointment booking for guidance systems: find slots, book, read, cancel."""
