"""The photo pipeline shared by inspections, incidents and repairs: check, strip, store, serve."""
