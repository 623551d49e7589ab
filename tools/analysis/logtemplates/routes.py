"""Learn which route positions take free names (wiki titles, page names), from the log itself.

Ids, hashes and numbers are masked segment by segment (`access.route`), but a name looks like
a route word: `/wiki/Onboarding` and `/v1/orders` have the same shape. What tells them apart
is how many there are: an API has a handful of resources under a prefix, a wiki has a title
per page. A parent with many distinct mixed-case children takes a parameter there.

A run of segments is a parameter too when several values fill it before the same rest of the
route (`/<owner>/<repo>/commit/<*>`, as Gitea and GitHub route repositories): resources are
words under a fixed parent, so no fixed rest follows varied values in every segment of a run.
"""

from __future__ import annotations

from opsloop.tools.analysis.logtemplates.masking import WILDCARD

# Distinct children before a position counts as a parameter: APIs rarely put this many
# mixed-case resources under one prefix.
MIN_NAMES = 6
# Distinct values of a run of two segments, both varying, before one rest: a parameter.
MIN_SPAN_VALUES = 3
# Segments in a run: one varying word before a fixed one is as often a resource
# (`/api/users/count`, `/api/orders/count`) as a value, so only pairs (`owner/repo`) count.
RUN = 2
# A run's key: the prefix before it, its length, and the rest after it (None: any rest).
_RunKey = tuple[tuple[str, ...], int, tuple[str, ...] | None]


class RouteParams:
    """Count the distinct segments under each route prefix; many names make a parameter."""

    def __init__(self, min_names: int = MIN_NAMES) -> None:
        """Set how many distinct names under one prefix make it a parameter."""
        self.min_names = min_names
        # (method, *parent segments) -> child segment -> whether deeper segments followed it.
        self._children: dict[tuple[str, ...], dict[str, bool]] = {}
        self._params: set[tuple[str, ...]] = set()
        # (prefix, run length, rest or None) -> the runs seen there; and those that are params.
        self._runs: dict[_RunKey, set[tuple[str, ...]]] = {}
        self._run_params: set[_RunKey] = set()

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
        return self._observe_runs(segments) or learned

    def _observe_runs(self, segments: list[str]) -> bool:
        """Count the values of each run of segments that a fixed word follows; return True
        when a run has just become a parameter.

        Runs learned below a fixed prefix (`/api/v1/repos/<*>/<*>/…`) hold whatever follows.
        """
        learned = False
        for key, run in _runs(segments):
            values = self._runs.setdefault(key, set())
            if key in self._run_params or run in values or len(values) > 4 * MIN_SPAN_VALUES:
                continue
            values.add(run)
            varied = all(len({v[k] for v in values}) > 1 for k in range(key[1]))
            if len(values) >= MIN_SPAN_VALUES and varied:
                self._run_params.add(key)
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
        if self._run_params and len(out) == len(segments):
            for (prefix, size, _), _run in _runs(out):
                if any(k in self._run_params for k in _keys(prefix, size, out)):
                    start = len(prefix) + 1
                    out[start : start + size] = [WILDCARD] * size
                    break
        return "/".join(out) + sep + query


def _names(kids: dict[str, bool], least: int) -> bool:
    """Tell whether children are many and mostly names: mixed case, as titles are."""
    mixed = sum(any(c.isupper() for c in k) and any(c.islower() for c in k) for k in kids)
    return len(kids) >= least and 2 * mixed > len(kids)


def _runs(segments: list[str]) -> list[tuple[_RunKey, tuple[str, ...]]]:
    """List a route's runs of `RUN` word segments with a fixed word after them: (prefix,
    length, rest) and the run, and (prefix, length, None) below a non-empty prefix."""
    found: list[tuple[_RunKey, tuple[str, ...]]] = []
    for start in range(1, len(segments) - RUN):
        end = start + RUN
        run = tuple(segments[start:end])
        if not (_word(segments[end]) and all(_word(s) for s in run)):
            continue
        prefix = tuple(segments[1:start])
        found.append(((prefix, RUN, tuple(segments[end:])), run))
        if prefix:
            found.append(((prefix, RUN, None), run))
    return found


def _keys(prefix: tuple[str, ...], size: int, segments: list[str]) -> list[_RunKey]:
    """Return the keys a run of a route may have been learned under."""
    rest = tuple(segments[len(prefix) + 1 + size :])
    return [(prefix, size, rest), (prefix, size, None)] if prefix else [(prefix, size, rest)]


def _word(segment: str) -> bool:
    """Tell whether a segment is a fixed-looking word: not empty, not masked, no file name."""
    return bool(segment) and WILDCARD not in segment and "." not in segment
