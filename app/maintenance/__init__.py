"""Repair tickets 報修 and maintenance 定期維護保養."""
