"""Kanta: social care documents archived in the Kanta social care client data archive (SOAP, HL7 V3, CDA R2).

Public surface: :class:`adapters.kanta.adapter.KantaAdapter` (the worker's adapter),
:class:`adapters.kanta.client.KantaClient` (archive, new version, fetch, query),
:func:`adapters.kanta.simulator.create_simulator` (the simulated archive) and
:func:`adapters.kanta.errors.translate` (the one place failures are classified). Nothing is
imported here, so reading :mod:`adapters.kanta.settings` does not load zeep or lxml.
"""
