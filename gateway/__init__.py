"""Asiakasohjaus gateway: guidance outcomes in, register records out."""

__version__ = "0.1.0"
