"""Clients, sites and who is assigned to them."""
