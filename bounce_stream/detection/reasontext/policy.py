"""Reason text patterns: policy.

Ported from Sisimai (BSD-2-Clause), extended for the Sisimai 5 reasons.
"""

from __future__ import annotations

from bounce_stream.detection.reasontext.matcher import TextMatcher

POLICYVIOLATION = TextMatcher(
    substrings=(
        "an illegal attachment on your message",
        "because the recipient is not accepting mail with ",
        "by non-member to a members-only list",
        "closed mailing list",
        "denied by policy",
        "dmarc policy",
        "email not accepted for policy reasons",
        "email rejected due to security policies",
        "header are not accepted",
        "header error",
        "local policy violation",
        "message bounced due to organizational settings",
        "message given low priority",
        "message not accepted for policy reasons",
        "message rejected due to local policy",
        "messages with multiple addresses",
        "rejected for policy reasons",
        "protocol violation",
        "the email address used to send your message is not subscribed to this group",
        "the message was rejected by organization policy",
        "this message was blocked because its content presents a potential",
        "we do not accept messages containing images or other attachments",
        "you have exceeded the allowable number of posts without solving a captcha",
        "you have exceeded the the allowable number of posts without solving a captcha",
    ),
)

REJECTED = TextMatcher(
    substrings=(
        "can't determine purported responsible address",
        "unroutable sender",
        "sender address rejected",
        "access denied (in reply to mail from command)",
        "access denied (sender blacklisted)",
        "address rejected",
        "administrative prohibition",
        "batv failed to verify",
        "batv validation failure",
        "backscatter protection detected an invalid or expired email address",
        "because the sender isn't on the recipient's list of senders to accept mail from",
        "bogus mail from",
        "connections not accepted from servers without a valid sender domain",
        "denied [bouncedeny]",
        "denied by secumail valid-address-filter",
        "delivery not authorized, message refused",
        "does not exist e2110",
        "domain of sender address ",
        "email address is on senderfilterconfig list",
        "emetteur invalide",
        "empty envelope senders not allowed",
        "envelope blocked - ",
        "error: no third-party dsns",
        "from: domain is invalid. please provide a valid from:",
        "fully qualified email address required",
        "invalid domain, see <url:",
        "invalid sender",
        "is not a registered gateway user",
        "mail from not owned by user",
        "message rejected: email address is not verified",
        "mx records for ",
        "null sender is not allowed",
        "recipient addresses rejected : access denied",
        "recipient not accepted. (batv: no tag",
        "returned mail not accepted here",
        "rfc 1035 violation: recursive cname records for",
        "rule imposed mailbox access for",
        "sender address has been blacklisted",
        "sender email address rejected",
        "sender is in my black list",
        "sender is spammer",
        "sender not pre-approved",
        "sender rejected",
        "sender domain is empty",
        "sender verify failed",
        "syntax error: empty email address",
        "the message has been rejected by batv defense",
        "this server does not accept mail from",
        "transaction failed unsigned dsn for",
        "unroutable sender address",
        "you are not allowed to post to this mailing list",
        "you are sending to/from an address that has been blacklisted",
        "your access to submit messages to this e-mail system has been rejected",
    ),
    unless=(
        "5.1.0 address rejected",
        "recipient address rejected",
        "sender ip address rejected",
    ),
)

FILTERED = TextMatcher(
    substrings=(
        "because the recipient is only accepting mail from specific email addresses",
        "bounced address",
        "due to extended inactivity new mail is not currently being accepted for this mailbox",
        "has restricted sms e-mail",
        "is not accepting any mail",
        "message rejected due to user rules",
        "not found recipient account",
        "refused due to recipient preferences",
        "resolver.rst.notauthorized",
        "this account is protected by",
        "user not found",
        "user reject",
        "we failed to deliver mail because the following address recipient id"
        " refuse to receive mail",
        "you have been blocked by the recipient",
    ),
)

NORELAYING = TextMatcher(
    substrings=(
        "insecure mail relay",
        "no relaying",
        "relaying not allowed",
        "relay not allowed",
        "as a relay",
        "insecure mail relay",
        "is not permitted to relay through this server without authentication",
        "mail server requires authentication when attempting to send to a non-local e-mail address",
        "not a gateway",
        "not allowed to relay through this machine",
        "not an open relay, so get lost",
        "not local host",
        "relay access denied",
        "relay denied",
        "relaying mail to ",
        "relay not permitted",
        "relaying denied",
        "that domain isn't in my list of allowed rcpthost",
        "this system is not configured to relay mail",
        "unable to relay for",
        "we don't handle mail for",
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
    |authentification[ ]requise.+[0-9a-z_]+402
    |codes?[ ]d'?[ ]*authentification[ ]invalide.+[0-9a-z_]+305
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
