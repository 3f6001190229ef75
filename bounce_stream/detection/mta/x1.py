"""An unnamed MTA Sisimai calls X1 ("Mail Deliver System", sic).

Layout: From ``"Mail Deliver System" <MAILER-DAEMON@...>``, Subject "Returned Mail: <reason>",
"The original message was received at <date>" / "from <sender>", then
"---The following addresses had delivery errors---" (no spaces inside the dashes) and one
line per recipient, ``a@b [User unknown]``: the reason in square brackets. No SMTP reply.
"""

from __future__ import annotations

import re

from bounce_stream.detection.mta.textbounce import TextBounce


class X1(TextBounce):
    """X1 "---The following addresses had delivery errors---" reports."""

    name = "x1"
    keywords = ("addresses",)
    signature = re.compile(r"(?im)^-{3}the following addresses had delivery errors-{3}")
    start = re.compile(r"(?im)^-{3}the following addresses had delivery errors-{3}[^\n]*\n")
