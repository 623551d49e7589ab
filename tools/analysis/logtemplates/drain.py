"""Drain (He et al., ICWS 2017): a fixed-depth parse tree of token prefixes over clusters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from opsloop.tools.analysis.logtemplates.access import Request, parse_access
from opsloop.tools.analysis.logtemplates.gaps import fit_gap
from opsloop.tools.analysis.logtemplates.header import strip_header
from opsloop.tools.analysis.logtemplates.masking import WILDCARD, tokenize
from opsloop.tools.analysis.logtemplates.routes import RouteParams


@dataclass
class Template:
    """One mined template: a stable id, its text with `<*>` variables, and its use."""

    id: str
    text: str
    count: int
    first_seen: int  # index of the first line that produced it


@dataclass
class _Cluster:
    """A group of lines sharing a template; `tokens` widens to `<*>` as lines arrive."""

    id: str
    tokens: list[str]
    count: int
    first_seen: int
    gap: int | None = None  # index of a slot that takes any number of tokens


class TemplateMiner:
    """Mine log templates online; each line joins the most similar cluster or starts one."""

    def __init__(
        self,
        *,
        sim_threshold: float = 0.5,
        depth: int = 4,
        max_children: int = 100,
    ) -> None:
        """Configure Drain: similarity to join a cluster, tree depth, children per node."""
        if depth < 3:
            raise ValueError("depth must be at least 3 (length layer, one token layer, leaf)")
        self.sim_threshold = sim_threshold
        self.prefix_tokens = depth - 2
        self.max_children = max_children
        self._root: dict[tuple[str, int], dict] = {}
        self._clusters: dict[str, _Cluster] = {}
        # Clusters by (key, length, first token): where to look when the prefix path finds none.
        self._families: dict[tuple[str, int, str], list[_Cluster]] = {}
        # Clusters by (key, first token), any length: where a line of another length may fit.
        self._heads: dict[tuple[str, str], list[_Cluster]] = {}
        self._lengths: dict[tuple[str, int], list[_Cluster]] = {}
        # Access routes: which positions take names, each request's cluster, merged ids.
        self._routes = RouteParams()
        self._requests: dict[tuple[str, str], _Cluster] = {}
        self._alias: dict[str, str] = {}
        self._lines = 0

    def add(self, line: str) -> str:
        """Mine one raw line and return the id of the template it belongs to."""
        request = parse_access(line)
        if request is not None and request.method:
            raw = (request.method, request.route)
            if self._routes.observe(*raw):
                self._merge_routes()
            request = Request(request.method, self._routes.apply(*raw))
        key, tokens = _read(line, request)
        leaf = self._leaf(key, tokens)
        family = self._families.setdefault(
            (key, len(tokens), _key(tokens[0]) if tokens else ""), []
        )
        cluster = self._best_match(leaf, tokens)
        if cluster is None:
            # A variable in the prefix (`user alice ...`, `user bob ...`) sends lines of one
            # template down different paths: a cluster of the same family that agrees on
            # every token past the prefix is the same template.
            p = self.prefix_tokens
            rest = tokens[p:]
            same_tail = [
                c
                for c in family
                if c.gap is None
                and all(a in (b, WILDCARD) for a, b in zip(c.tokens[p:], rest, strict=True))
            ]
            cluster = self._best_match(same_tail, tokens)
            if cluster is None and tokens and _NAME.fullmatch(tokens[0]):
                # A lower-case name first (`java invoked oom-killer: …`): the subject is a
                # value when all the rest agrees, a capitalised verb (`Accepted`) is not.
                lengths = self._lengths.get((key, len(tokens)), [])
                cluster = self._best_match(
                    [c for c in lengths if c.gap is None and _same_body(c.tokens, tokens)], tokens
                )
            if cluster is not None:
                leaf.append(cluster)
        heads = self._heads.setdefault((key, _key(tokens[0]) if tokens else ""), [])
        if cluster is None:
            # No template of this length: one of another length whose free-text slot
            # this line fills (`… failed: <reason of any length>`).
            for other in heads:
                if other.gap is None and len(other.tokens) == len(tokens):
                    continue
                fitted = fit_gap(other.tokens, other.gap, tokens)
                if fitted is not None:
                    cluster = other
                    cluster.tokens, cluster.gap = fitted
                    cluster.count += 1
                    self._lines += 1
                    return self.resolve(cluster.id)
        if cluster is None:
            cluster = _Cluster(f"T{len(self._clusters) + 1}", tokens, 0, self._lines)
            self._clusters[cluster.id] = cluster
            leaf.append(cluster)
            family.append(cluster)
            heads.append(cluster)
            self._lengths.setdefault((key, len(tokens)), []).append(cluster)
        else:
            cluster.tokens = [
                a if a == b else WILDCARD for a, b in zip(cluster.tokens, tokens, strict=True)
            ]
        cluster.count += 1
        self._lines += 1
        if request is not None and request.method:
            self._requests.setdefault(raw, cluster)
        return self.resolve(cluster.id)

    def resolve(self, template_id: str) -> str:
        """Return the id a template goes by now: routes found to share one are merged."""
        while template_id in self._alias:
            template_id = self._alias[template_id]
        return template_id

    def _merge_routes(self) -> None:
        """Merge the clusters of requests whose routes now read the same."""
        merged: dict[str, _Cluster] = {}
        for (method, route), cluster in self._requests.items():
            if cluster.id in self._alias:
                continue
            request = Request(method, self._routes.apply(method, route))
            first = merged.setdefault(request.key, cluster)
            if first is cluster:
                cluster.tokens = request.tokens
                self._leaf(request.key, request.tokens).append(cluster)
            else:
                self._alias[cluster.id] = first.id
                first.count += cluster.count
                first.first_seen = min(first.first_seen, cluster.first_seen)

    def template(self, template_id: str) -> str:
        """Return the current text of a template, `<*>` marking its variables."""
        return " ".join(self._clusters[self.resolve(template_id)].tokens)

    def templates(self) -> list[Template]:
        """Return every template in order of creation."""
        return [
            Template(c.id, " ".join(c.tokens), c.count, c.first_seen)
            for c in self._clusters.values()
            if c.id not in self._alias
        ]

    def _leaf(self, key: str, tokens: list[str]) -> list[_Cluster]:
        """Walk (and grow) the tree: key and length, then the first tokens, to a cluster list."""
        node = self._root.setdefault((key, len(tokens)), {})
        for token in tokens[: self.prefix_tokens]:
            branch = _key(token)
            if branch not in node:
                branch = branch if len(node) < self.max_children - 1 else WILDCARD
            node = node.setdefault(branch, {})
        return node.setdefault("", [])

    def _best_match(self, leaf: list[_Cluster], tokens: list[str]) -> _Cluster | None:
        """Return the most similar cluster at or above the threshold, if any."""
        best: _Cluster | None = None
        best_key = (-1.0, -1)
        for cluster in leaf:
            if cluster.gap is not None or len(cluster.tokens) != len(tokens):
                continue  # it has taken a variable-length slot: only `fit_gap` reads it
            same = wild = conflicts = 0
            for a, b in zip(cluster.tokens, tokens, strict=True):
                if a == WILDCARD:
                    wild += 1
                elif a == b:
                    same += 1
                else:
                    conflicts += 1
            if conflicts and _ends_apart(cluster.tokens, tokens):
                continue
            # An empty message matches an empty template fully.
            sim = same / len(tokens) if tokens else 1.0
            if conflicts == 0 and same:
                # Every constant of the template is there: the line fits it, however many
                # variables both have (`<*> "GET <*> HTTP/<*>" <*>`). Drain's ratio alone
                # would never let a mostly masked line join its own template.
                sim = 1.0
            if (sim, wild) > best_key:
                best, best_key = cluster, (sim, wild)
        return best if best is not None and best_key[0] >= self.sim_threshold else None


def _read(line: str, request: Request | None) -> tuple[str, list[str]]:
    """Return a line's event key and tokens: lines of different keys never share a template.

    An access line's key is its request's method and route; other lines have no key.
    """
    if request is not None:
        return request.key, request.tokens
    return "", tokenize(strip_header(line))


# A lower-case name (a process, host or queue name) where a message starts.
_NAME = re.compile(r"[a-z][\w\-]*")


def _same_body(template: list[str], tokens: list[str]) -> bool:
    """Tell whether a line agrees with a template on every token after the first, and on at
    least three constants there."""
    rest = zip(template[1:], tokens[1:], strict=True)
    if not all(a in (b, WILDCARD) for a, b in rest):
        return False
    first = template[0]
    return (first == WILDCARD or _NAME.fullmatch(first) is not None) and sum(
        a != WILDCARD for a in template[1:]
    ) >= 3


# A participle that ends a clause (`started.`, `assigned:`, `running.`): the verb a call
# prints. Other words there may be values (`Started session 4 of user alice.`).
_CLAUSE_END = re.compile(r"[a-z]{2,}(?:ed|ing)[.:]")
# A state a message reports (`Connection accepted`, `alarm set`, `link down`): two lines
# in different states are two calls, since a program writes each transition on its own.
_STATE = re.compile(r"[a-z]{3,}(?:ed|ing)|set|clear|up|down|on|off|open|close")


def _ends_apart(template: list[str], tokens: list[str]) -> bool:
    """Tell whether two lines differ in a clause-ending word (`has started.`, `has ended.`),
    in a state word (`Connection accepted`, `Connection ended`), or in a final `:` alone
    (`closing connection (…)` and `closing connection (…):`, whose reason comes next)."""
    if template and tokens and template[-1] != tokens[-1]:
        a, b = template[-1], tokens[-1]
        if a.rstrip(":") == b.rstrip(":"):
            return True
    for a, b in zip(template, tokens, strict=True):
        if a == b:
            continue
        if _CLAUSE_END.fullmatch(a) and _CLAUSE_END.fullmatch(b) and a[-1] == b[-1]:
            return True
        a, b = a.rstrip(".:,;").lower(), b.rstrip(".:,;").lower()
        if a != b and _STATE.fullmatch(a) and _STATE.fullmatch(b):
            return True
    return False


def _key(token: str) -> str:
    """Return a token's branch in the tree: tokens holding digits are likely variables, and
    so are names with an inner dot, `@` or `/` (`fstrim.service:`, `worker@3`, `a/b`)."""
    if any(c.isdigit() for c in token) or WILDCARD in token:
        return WILDCARD
    return WILDCARD if re.search(r"\w[.@/]\w", token) else token


def mine(lines: Iterable[str], **params: float) -> tuple[list[str], list[Template]]:
    """Mine all lines; return each line's final template id and the final templates."""
    miner = TemplateMiner(**params)  # type: ignore[arg-type]
    ids = [miner.add(line) for line in lines]
    return [miner.resolve(i) for i in ids], miner.templates()
