"""Käyttöloki and luovutusloki: the access log and the disclosure log, each a hash chain."""
