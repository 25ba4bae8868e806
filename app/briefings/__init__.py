"""Briefings 勤前教育 with acknowledgement, confidentiality pledges, and training records."""
