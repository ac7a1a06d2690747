"""Open hand-overs and their statutory deadlines (määräajat), for supervisors: no personal data."""
