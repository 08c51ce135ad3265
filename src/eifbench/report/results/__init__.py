"""Stored results: the record and its JSON document, reading and validating reports, baselines and gates."""
