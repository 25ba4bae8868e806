"""Company settings: the security company's name and the calendar its printed sheets use."""
