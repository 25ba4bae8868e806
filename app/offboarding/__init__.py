"""Offboarding a client (issue 12 item 8): hand its confidential records over, then purge them."""
