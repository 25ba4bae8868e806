"""Checklist templates (versioned), inspections, answers, amendments."""
