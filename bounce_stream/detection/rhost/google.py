"""Google (Gmail, Google Workspace, Google Groups): Google's own sentences for each failure.

Google answers with a fixed English sentence per condition, its reply code, enhanced status
and a help-center link; the status alone is often generic (5.0.0 in Google-generated DSNs).
The sentence table is Sisimai 5's (Google's and Google Workspace's rows, see
``detection/data``); the same sentence under two statuses (5.2.3 / 5.3.4 size limits) is
told apart by the status of the reply.
"""

from __future__ import annotations

import re

from bounce_stream.detection import data
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.rhost.base import ProviderRules, StatusRow, part_rows, phrase_rows

# Gmail's own wording the table lacks, as its DSNs and help links write it.
_OWN_PHRASES = (
    # "Your message wasn't delivered to x because the address couldn't be found, or is
    # unable to receive mail." (Gmail's human-readable DSN part)
    ("address couldn't be found", Reason.USERUNKNOWN),
    ("address could not be found", Reason.USERUNKNOWN),
    # The help link of the RFC 5322 rejection: support.google.com/mail/?p=RfcMessageNonCompliant
    ("rfcmessagenoncompliant", Reason.NOTCOMPLIANTRFC),
    # Google Groups refusing a post: "Your email to group x was rejected due to spam
    # classification."
    ("rejected due to spam classification", Reason.SPAMDETECTED),
    # Gmail refusing to send as an address not verified in its "Send mail as" setting.
    ("'send mail as' feature", Reason.REJECTED),
)

GOOGLE = ProviderRules(
    name="google",
    hosts=re.compile(r"(?i)(?:\.google\.com|googlemail\.com|gmail\.com|googlegroups\.com)\b"),
    status_rows=tuple(
        StatusRow(status=row[1], phrase=row[2].lower(), reason=reason)
        for reason, row in data.provider_rows("google", 3)
    ),
    phrases=phrase_rows("gsuite") + _OWN_PHRASES,
    parts=part_rows("gsuite"),
)
