"""An MTA's own words for giving up on a recipient after retrying (docs/REASONS.md: "an MTA
giving up after retries is expired").

Sendmail (envelope.c) ends the transcript of a message whose queue lifetime ran out with
"Message could not be delivered for <interval>" and "Message will be deleted from queue"
(older versions: "Cannot send message for <interval>"); its delay warning ("Warning: could
not send message for past <interval>") is not a giving-up. Exim (deliver.c, retry.c) writes
"<address>: retry timeout exceeded", "retry time not reached for any host after a long
failure period" or "all hosts have been failing for a long time".
"""

from __future__ import annotations

import re

_GAVE_UP = re.compile(
    r"(?i)message\s+could\s+not\s+be\s+delivered\s+for\s"
    r"|message\s+will\s+be\s+deleted\s+from\s+(?:the\s+)?queue"
    r"|cannot\s+send\s+message\s+for\s"
    r"|retry\s+timeout\s+exceeded"
    r"|retry\s+time\s+not\s+reached\s+for\s+any\s+host\s+after\s+a\s+long\s+failure\s+period"
    r"|all\s+hosts\s+have\s+been\s+failing\s+for\s+a\s+long\s+time"
)
# The MTAs write these words in lower case, and each match contains one of them: a text with
# none is not searched (no lower-cased copy of a long report is made).
_NEEDS = ("delivered for", "deleted from", "message for", "retry t", "failing for")
MAX_CHARS = 64_000


def says_it_gave_up(text: str) -> bool:
    """Whether ``text`` (a report or one recipient's diagnostic) has an MTA's giving-up words."""
    head = text[:MAX_CHARS]
    if not any(needle in head for needle in _NEEDS):
        return False
    return _GAVE_UP.search(head) is not None
