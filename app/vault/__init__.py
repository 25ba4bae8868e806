"""The confidential vault (issue 12): client secrets encrypted at rest, under a key ring.

This package holds the foundation: the cipher (crypto.py), the records (models.py), the
services that encrypt, decrypt and rotate (services.py) and `flask keys` (cli.py). Reveal,
purposes, step-up, the access log and key custody build on it.
"""
