"""Reason text patterns for the reasons Sisimai 5 split out of blocked/securityerror.

Authentication (SPF/DKIM/DMARC), reverse DNS, reputation, RFC 5322 compliance, rate
limiting, STARTTLS and relay suppression lists, written from the wording of the large
receivers (Google, Microsoft, Yahoo, Apple, mail.ru) and of Postfix/Exim/Sendmail checks.
"""

from __future__ import annotations

from bounce_stream.detection.reasontext.matcher import TextMatcher

AUTHFAILURE = TextMatcher(
    substrings=(
        "does not have authentication information",
        "//spf.pobox.com",
        "dmarc validation",
        "dmarc verification",
        "does not pass dmarc",
        "spf validation",
        "spf=fail",
        "dkim=fail",
        "dkim signature",
        "is not authorized to send on behalf of",
        "this mail is unauthenticated",
        "has not been authenticated",
        "not pass authentication checks",
        "authentication checks did not pass",
        "spf: hard fail",
        "spf check failed",
        "failed spf",
        "spf fail",
        "spf_fail",
        "sender domain not authenticated",
        "domain authentication fail",
        "message does not pass authentication",
    ),
    pattern=r"""
    is[ ]not[ ]allowed[ ]to[ ]send[ ](?:mail[ ]from|from[ ][<][^ ]+[>][ ]per[ ]it'?s[ ]spf)
    |spf[ ]record
    |spf:[ ][^ ]+[ ]is[ ]not[ ]allowed[ ]to[ ]send[ ]mail
    |denied[ ]by[ ]spf
    |5[.]7[.](?:2[0-4]|26|509)\b
    |unauthenticated[ ](?:email|mail|message)
    |\bdmarc\b.{0,40}\b(?:reject|fail)
    """,
)

REQUIREPTR = TextMatcher(
    substrings=(
        "cannot resolve your address",
        "does not have a ptr record",
        "fix reverse dns for",
        "ip name lookup failed",
        "no ptr record found",
        "reverse dns lookup failed",
        "we do not accept mail from dynamic ips",
        "hosts with dynamic ip",
        "invalid rdns record",
        "reverse hostname",
        "no reverse dns",
        "not resolve your hostname",
        "hostname does not resolve",
        "your ip has no ptr",
    ),
    pattern=r"""
    service[ ]permits[ ]\d+[ ]unverifyable[ ]sending[ ]ips
    |domain[ ][^ ]+[ ]mismatches[ ]client[ ]ip
    |reverse[ ]dns[ ]lookup[ ]for[ ]host[ ][^ ]+[ ]failed
    |server[ ]access[ ][^ ]+[ ]forbidden[ ]by[ ]invalid[ ]rdns
    |client[ ]host[ ][^ ]+[ ]has[ ]no[ ]ptr
    |ptr[ ](?:lookup|record|check)[ ](?:failed|required|not[ ]found)
    """,
)

BADREPUTATION = TextMatcher(
    substrings=(
        "poor email reputation score",
        "sending mta's poor reputation",
        "bad reputation",
        "low reputation",
        "poor reputation",
        "reputation of the sending",
        "sender reputation",
        "ip reputation",
        "domain reputation",
    ),
)

NOTCOMPLIANTRFC = TextMatcher(
    substrings=(
        "rfcmessagenoncompliant",
        "not rfc 5322 compliant",
        "not rfc5322 compliant",
        "not rfc 2822 compliant",
        "not rfc-compliant",
        "rfc 5322 violation",
        "multiple addresses in from",
        "multiple from",
        "missing required header",
        "invalid header",
        "message does not comply with rfc",
        "doesn't comply with rfc",
        "header field contains",
        "bare lf",
        "bare linefeed",
        # amavisd-new's header checks (Amavis/Unpackers/Validity.pm), each an RFC 5322 rule.
        "header field occurs more than once",
        "improper folded header field",
        "header line longer than 998 characters",
        "improper use of control character",
        "non-encoded non-ascii data",
        "non-encoded utf-8 string",
        "utf-8 string contains c0 controls",
        "utf-8 string contains c1 controls",
    ),
    pattern=r"""
    (?:missing|invalid|malformed|duplicate)[ ](?:from|date|message-id|to|subject)[ ](?:header|field)
    |(?:from|date|message-id)[ ]header[ ](?:is[ ])?(?:missing|invalid|malformed)
    |header[ ](?:is[ ])?not[ ](?:rfc|valid)
    """,
)

SPEEDING = TextMatcher(
    substrings=(
        "ratelimit",
        "rate limited",
        "rate-limited",
        "sending too fast",
        "sending mail too fast",
        "too many emails",
        "too many messages in a short time",
        "message rate too high",
        "exceeded the rate limit",
        "you have exceeded the send rate",
        "is receiving mail too quickly",
        "messages per hour",
        "throttled",
        # Postfix smtpd_client_message_rate_limit ("421 4.7.0 ... Error: too many messages
        # from <client>") and policy servers' "Rate limit exceeded, too many messages from
        # your host"; a connection rate limit is toomanyconn's.
        "too many messages from",
    ),
    pattern=r"""
    (?>
    rate[ ]limit[ ]exceeded(?<!connection[ ]rate[ ]limit[ ]exceeded)
    )
    """,
)

FAILEDSTARTTLS = TextMatcher(
    substrings=(
        "starttls is required",
        "must issue a starttls command first",
        "requires tls",
        "tls is required",
        "encryption needed",
        "requiretls",
        "mta-sts",
        "starttls failed",
        "tls handshake failed",
        "tls negotiation failed",
        "cannot start tls",
        "certificate verification failed",
    ),
    pattern=r"\bdane\b",
)

SUPPRESSED = TextMatcher(
    substrings=(
        "suppression list",
        "suppressed",
        "is on the suppression",
        "previously bounced",
        "address is on a block list of your account",
    ),
)

SYNTAXERROR = TextMatcher(
    substrings=(
        "syntax error",
        "command unrecognized",
        "command not recognized",
        "unrecognized command",
        "line too long",
    ),
)
