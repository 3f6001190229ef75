"""Reason text patterns: transport.

Ported from Sisimai (BSD-2-Clause), extended for the Sisimai 5 reasons.
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
        "connection timed out",
        "could not find a gateway for",
        "delivery attempts will continue to be",
        "delivery time expired",
        "failed to deliver to domain ",
        "giving up on",
        "have been failing for a long time",
        "has been delayed",
        "it has not been collected after",
        "message expired after sitting in queue for",
        "message expired, connection refulsed",
        "message timed out",
        "retry time not reached for any host after a long failure period",
        "server did not respond",
        "this message has been in the queue too long",
        "unable to deliver message after multiple retries",
        "was not reachable within the allowed queue period",
        "your message could not be delivered for more than",
    ),
)

NETWORKERROR = TextMatcher(
    substrings=(
        "host name lookup failure",
        "network error on destination",
        "had no relevant answers",
        "name service error",
        "dns error",
        "no route to host",
        "could not connect and send the mail to",
        "dns records for the destination computer could not be found",
        "hop count exceeded - possible mail loop",
        "host is unreachable",
        "host name lookup failure",
        "host not found, try again",
        "mail forwarding loop for ",
        "malformed name server reply",
        "malformed or unexpected name server reply",
        "maximum forwarding loop count exceeded",
        "message looping",
        "message probably in a routing loop",
        "no route to host",
        "too many hops",
        "unable to resolve route ",
        "unrouteable mail domain",
    ),
)

SYSTEMERROR = TextMatcher(
    substrings=(
        "aliasing/forwarding loop broken",
        "can't create user output file",
        "could not load drd for domain",
        "internal error reading data",
        "internal server error: operation now in progress",
        "interrupted system call",
        "it encountered an error while being processed",
        "it would create a mail loop",
        "local configuration error",
        "local error in processing",
        "loop was found in the mail exchanger",
        "loops back to myself",
        "queue file write error",
        "mail system configuration error",
        "remote server is misconfigured",
        "server configuration error",
        "service currently unavailable",
        "system config error",
        "temporary local problem",
        "timeout waiting for input",
        "transaction failed",
    ),
)

SYSTEMFULL = TextMatcher(
    substrings=(
        "mail system full",
        "requested mail action aborted: exceeded storage allocation",
    ),
)

TOOMANYCONN = TextMatcher(
    substrings=(
        "frequency limited",
        "connection rate limit",
        "too many connections",
        "too many concurrent",
        "all available ips are at maximum connection limit",
        "connection rate limit exceeded",
        "exceeds per-domain connection limit for",
        "has exceeded the max emails per hour ",
        "throttling failure: daily message quota exceeded",
        "throttling failure: maximum sending rate exceeded",
        "too many connections",
        "too many connections from your host.",
        "too many concurrent smtp connections",
        "too many errors from your ip",
        "too many recipients",
        "too many smtp sessions for this host",
        "trop de connexions, ",
        "we have already made numerous attempts to deliver this message",
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
