"""Reason text patterns: transport.

Ported from Sisimai 4 (BSD-2-Clause), extended for the Sisimai 5 reasons. Sisimai 5's phrase
lists (detection/data) are added to these in reasontext/__init__.py; a phrase that list has
is not repeated here.
"""

from __future__ import annotations

from bounce_stream.detection.reasontext.matcher import TextMatcher

EXPIRED = TextMatcher(
    substrings=(
        "exceeded max time without delivery",
        "queue lifetime exceeded",
        "could not deliver for the last",
        "retry timeout exceeded",
        "delivery retry timeout",
        "envelope expired",
        "message expired",
    ),
)

NETWORKERROR = TextMatcher(
    substrings=(
        "network error on destination",
        "had no relevant answers",
        "name service error",
        "dns error",
    ),
    # Postfix smtp(8) (smtp_connect.c): "connect to mx[ip]:25: Connection refused" (4.4.1);
    # its timeout of the same wording stays expired (Sisimai's "connection timed out").
    pattern=r"""
    (?>
    connect[ ]to[ ][^ ]+:[ ]connection[ ]refused
    )
    """,
)

SYSTEMERROR = TextMatcher(
    substrings=("transaction failed",),
)

SYSTEMFULL = TextMatcher(
    substrings=(),
)

TOOMANYCONN = TextMatcher(
    substrings=(
        "frequency limited",
        "connection rate limit",
        "too many concurrent",
    ),
)

MAILERERROR = TextMatcher(
    pattern=r"""
    (?>
    \Aprocmail:[ ]    # procmail
    |bin/(?:procmail|maildrop)
    |command[ ](?:
    failed:[ ]
    |died[ ]with[ ]status[ ]\d+
    |output:
    )
    |exit[ ]\d+
    |mailer[ ]error
    |pipe[ ]to[ ][|][/][^ ]+
    |x[-]unix[;][ ]\d+  # X-UNIX; 127
    )

    """,
)
