"""Screens of the dashboard: the ranking, one endpoint's detail, the export dialog."""
