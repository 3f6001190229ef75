"""Reason text patterns: policy.

Ported from Sisimai 4 (BSD-2-Clause), extended for the Sisimai 5 reasons. Sisimai 5's phrase
lists (detection/data) are added to these in reasontext/__init__.py; a phrase that list has
is not repeated here.
"""

from __future__ import annotations

from bounce_stream.detection.reasontext.matcher import TextMatcher

POLICYVIOLATION = TextMatcher(
    substrings=(
        "dmarc policy",
        "you have exceeded the allowable number of posts without solving a captcha",
        "you have exceeded the the allowable number of posts without solving a captcha",
        "by local policy",  # "DATA rejected by local policy", "refused by local policy"
    ),
)

REJECTED = TextMatcher(
    substrings=(
        "unroutable sender",
        "sender address rejected",
    ),
    unless=(
        "5.1.0 address rejected",
        "recipient address rejected",
        "sender ip address rejected",
        # RFC 3463's title of x.7.1 ("Delivery not authorized, message refused", a phrase of
        # Sisimai 5's list) followed by the site's reason: a policy, not the sender.
        "by local policy",
    ),
)

FILTERED = TextMatcher(
    substrings=(
        "we failed to deliver mail because the following address recipient id"
        " refuse to receive mail",
    ),
)

NORELAYING = TextMatcher(
    substrings=(
        "relaying not allowed",
        "relay not allowed",
    ),
)

SECURITYERROR = TextMatcher(
    substrings=("turn on smtp authentication", "smtp authentication is required"),
    pattern=r"""
    (?>
    account[ ]not[ ]subscribed[ ]to[ ]ses
    |authentication[ ](?:
    credentials invalid
    |failure
    |failed;[ ]server[ ][^ ]+[ ]said:  # Postfix
    |required
    |turned[ ]on[ ]in[ ]your[ ]email[ ]client
    )
    |authentification[ ]requise.+[0-9a-z_]402
    |codes?[ ]d'?[ ]*authentification[ ]invalide.+[0-9a-z_]305
    |domain[ ][^ ]+[ ]is[ ]a[ ]dead[ ]domain
    |executable[ ]files[ ]are[ ]not[ ]allowed[ ]in[ ]compressed[ ]files
    |insecure[ ]mail[ ]relay
    |recipient[ ]address[ ]rejected:[ ]access[ ]denied
    |sorry,[ ]you[ ]don'?t[ ]authenticate[ ]or[ ]the[ ]domain[ ]isn'?t[ ]in[ ]
    my[ ]list[ ]of[ ]allowed[ ]rcpthosts
    |tls[ ]required[ ]but[ ]not[ ]supported
    |unauthenticated[ ]senders[ ]not[ ]allowed
    |user[ ][^ ]+[ ]is[ ]not[ ]authorized[ ]to[ ]perform[ ]ses:sendrawemail[ ]on[ ]resource
    |you[ ]are[ ]not[ ]authorized[ ]to[ ]send[ ]mail,[ ]authentication[ ]is[ ]required
    |verification[ ]failure
    )

    """,
)
