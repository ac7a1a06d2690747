"""Anonymous guidance statistics (tilastointi): figures by day, week or month and by unit, with small cells suppressed.

``tally`` and ``periods`` shape the events, ``aggregate`` counts them into buckets, ``suppression``
hides small cells, ``report`` puts the figures a supervisor reads together; ``query`` reads the
events from the database, ``csv_export`` and ``xlsx_export`` write the report for Excel, ``charts``
draws its bar charts (geometry only), ``routes`` is the API.
"""
