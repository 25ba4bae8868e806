"""Manifest, service worker and offline page: the installable shell."""
