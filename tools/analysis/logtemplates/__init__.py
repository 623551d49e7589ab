"""Log template mining: which message shapes a log holds, and which are new.

`strip_header` finds the message in a raw line of any common format, `masking` hides the
obvious variables, and `drain` groups the rest into templates with stable ids. Access lines
(NCSA common / combined) are grouped by request instead: `access` turns each into its method
and route.
"""

from opsloop.tools.analysis.logtemplates.drain import Template, TemplateMiner, mine
from opsloop.tools.analysis.logtemplates.header import strip_header
from opsloop.tools.analysis.logtemplates.masking import mask, tokenize

__all__ = ["Template", "TemplateMiner", "mask", "mine", "strip_header", "tokenize"]
