"""The client's portal (業主): what the company released for his own sites, read only."""
