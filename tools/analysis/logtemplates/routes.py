"""Learn which route positions take free names (wiki titles, page names), from the log itself.

Ids, hashes and numbers are masked segment by segment (`access.route`), but a name looks like
a route word: `/wiki/Onboarding` and `/v1/orders` have the same shape. What tells them apart
is how many there are: an API has a handful of resources under a prefix, a wiki has a title
per page. A parent with many distinct mixed-case children takes a parameter there.
"""

from __future__ import annotations

from opsloop.tools.analysis.logtemplates.masking import WILDCARD

# Distinct children before a position counts as a parameter: APIs rarely put this many
# mixed-case resources under one prefix.
MIN_NAMES = 6


class RouteParams:
    """Count the distinct segments under each route prefix; many names make a parameter."""

    def __init__(self, min_names: int = MIN_NAMES) -> None:
        """Set how many distinct names under one prefix make it a parameter."""
        self.min_names = min_names
        # (method, *parent segments) -> child segment -> whether deeper segments followed it.
        self._children: dict[tuple[str, ...], dict[str, bool]] = {}
        self._params: set[tuple[str, ...]] = set()

    def observe(self, method: str, route: str) -> bool:
        """Count a route's segments; return True when a prefix has just become a parameter."""
        segments = route.partition("?")[0].split("/")
        learned = False
        for i in range(2, len(segments)):  # a top-level segment is always a route word
            child = segments[i]
            parent = (method, *segments[1:i])
            # gRPC's `/pkg.Service/Method`: a service's methods are routes, however many.
            if not child or WILDCARD in child or "." in segments[i - 1]:
                continue
            kids = self._children.setdefault(parent, {})
            kids[child] = kids.get(child, False) or i < len(segments) - 1
            if parent not in self._params and _names(kids, self.min_names):
                self._params.add(parent)
                learned = True
        return learned

    def apply(self, method: str, route: str) -> str:
        """Return the route with its learned parameters masked."""
        path, sep, query = route.partition("?")
        segments = path.split("/")
        out = segments[:2]
        for i in range(2, len(segments)):
            parent = (method, *segments[1:i])
            if parent not in self._params:
                out.append(segments[i])
                continue
            kids = self._children[parent]
            if 2 * sum(kids.values()) <= len(kids):
                # Mostly leaves: the name may hold `/` itself (`Runbooks/Redis_OOM`), so the
                # parameter takes the rest of the path.
                out.append(WILDCARD)
                break
            out.append(WILDCARD)
        return "/".join(out) + sep + query


def _names(kids: dict[str, bool], least: int) -> bool:
    """Tell whether children are many and mostly names: mixed case, as titles are."""
    mixed = sum(any(c.isupper() for c in k) and any(c.islower() for c in k) for k in kids)
    return len(kids) >= least and 2 * mixed > len(kids)
