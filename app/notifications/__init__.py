"""In-app notifications (the bell) and e-mail."""
