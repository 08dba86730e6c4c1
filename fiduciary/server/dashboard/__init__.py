"""The operator dashboard: server-rendered pages over the control service, on the admin listener."""

from fiduciary.server.dashboard.pages import dashboard_routes

__all__ = ["dashboard_routes"]
