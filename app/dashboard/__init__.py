"""The manager's dashboard (a period's figures over the sites) and the exports (CSV, XLSX)."""
