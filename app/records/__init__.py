"""Control-record sheets (管控紀錄表): a site's (or a client's) month, its PDF and workflow."""
