"""Home page per role, health check."""
