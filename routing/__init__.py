"""Routing: where a triaged case goes (``routing.route``), and the resident and staff sides of tickets."""

from routing.route import RoutingDecision, RoutingError, resolve_area, route, topics_in

__all__ = ["RoutingDecision", "RoutingError", "resolve_area", "route", "topics_in"]
