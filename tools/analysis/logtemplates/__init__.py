"""Log template mining: which message shapes a log holds, and which are new.

`strip_header` finds the message in a raw line of any common format, `masking` hides the
obvious variables, and `drain` groups the rest into templates with stable ids; `gaps` lets one
template take a free-text value of any length. Access lines (NCSA common / combined, any
layout with a quoted request line and a status: Envoy, HAProxy, Traefik, and JSON records of a
request and its response: Caddy, nginx `escape=json`) are grouped by request instead: `access`
turns each into its method and route, and `routes` learns which route positions take names
(wiki titles, `owner/repo` pairs) from the log itself.
"""

from opsloop.tools.analysis.logtemplates.drain import Template, TemplateMiner, mine
from opsloop.tools.analysis.logtemplates.header import strip_header
from opsloop.tools.analysis.logtemplates.masking import mask, tokenize

__all__ = ["Template", "TemplateMiner", "mask", "mine", "strip_header", "tokenize"]
