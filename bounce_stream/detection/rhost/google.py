"""Google (Gmail, Google Workspace, Google Groups): Google's own sentences for each failure.

Google answers with a fixed English sentence per condition and a help-center link; the
enhanced status code alone is often generic (5.0.0 in Google-generated DSNs).
"""

from __future__ import annotations

import re

from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules

GOOGLE = ProviderRules(
    name="google",
    hosts=re.compile(r"(?i)(?:\.google\.com|googlemail\.com|gmail\.com|googlegroups\.com)\b"),
    phrases=(
        ("the email account that you tried to reach does not exist", Reason.USERUNKNOWN),
        ("address couldn't be found", Reason.USERUNKNOWN),
        ("address could not be found", Reason.USERUNKNOWN),
        ("the email account that you tried to reach is disabled", Reason.SUSPEND),
        ("the email account that you tried to reach is over quota", Reason.MAILBOXFULL),
        ("inbox is out of storage space", Reason.MAILBOXFULL),
        ("out of storage space", Reason.MAILBOXFULL),
        ("is receiving mail at a rate that prevents", Reason.SPEEDING),
        ("receiving mail too quickly", Reason.SPEEDING),
        ("doesn't receive email according to", Reason.NOTACCEPT),
        ("not rfc 5322 compliant", Reason.NOTCOMPLIANTRFC),
        ("rfcmessagenoncompliant", Reason.NOTCOMPLIANTRFC),
        ("rejected due to spam classification", Reason.SPAMDETECTED),
        (
            "content presents a potential security issue",
            Reason.SECURITYERROR,
        ),
        ("ptr record", Reason.REQUIREPTR),
        ("unauthenticated email", Reason.AUTHFAILURE),
        ("does not pass authentication checks", Reason.AUTHFAILURE),
        ("dmarc policy", Reason.AUTHFAILURE),
        ("unusual rate of unsolicited mail", Reason.BLOCKED),
        ("is not authorized to send email directly to our servers", Reason.BLOCKED),
        ("message exceeded google's message size limits", Reason.MESGTOOBIG),
        ("daily user sending limit exceeded", Reason.SPEEDING),
        ("'send mail as' feature", Reason.REJECTED),
    ),
)
