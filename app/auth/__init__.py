"""Users, roles, login and server-side sessions; policy.py holds every permission rule."""
