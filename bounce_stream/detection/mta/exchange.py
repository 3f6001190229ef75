"""Microsoft Exchange 2000/2003 text reports ("did not reach the following recipient(s)").

Layout: "Your message ... did not reach the following recipient(s):" then per recipient
``a@b on <date>`` followed by indented lines: a human sentence ("The recipient name is not
recognized") and an ``MSEXCH:IMS:...`` code line. Exchange's numeric codes map to reasons
(000C05A6 unknown recipient, 000B099C host unknown, ...), see ``_MSEXCH_CODES``.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason

_MSEXCH_CODES: dict[str, Reason] = {
    "000C05A6": Reason.USERUNKNOWN,  # Unknown Recipient
    "000B099C": Reason.HOSTUNKNOWN,  # Host Unknown, Message exceeds size limit
    "000B09AA": Reason.NETWORKERROR,  # Unable to relay for
    "000B09B6": Reason.EXPIRED,  # Error messages in the transcript: timeout
    "000A0DDD": Reason.MAILBOXFULL,  # The recipient's mailbox is full
    "00000F0D": Reason.MAILBOXFULL,
    "000D06AB": Reason.SYSTEMERROR,
    "000C0595": Reason.SYSTEMERROR,  # Ambiguous Recipient
    "00010256": Reason.SYSTEMERROR,
    "000C0570": Reason.MAILBOXFULL,
    "0001018C": Reason.SECURITYERROR,
}
_CODE = re.compile(r"\(([0-9A-F]{8})\)")


class Exchange2003(TextBounce):
    """Exchange 2003 non-delivery reports without a DSN part."""

    name = "exchange2003"
    keywords = ("recipient",)
    signature = re.compile(
        r"(?i)did\s+not\s+reach\s+the\s+following\s+recipient|"
        r"following\s+recipient\(?s?\)?\s+could\s+not\s+be\s+reached"
    )
    start = re.compile(
        r"(?i)(?:did\s+not\s+reach\s+the\s+following\s+recipient\(?s?\)?|"
        r"following\s+recipient\(?s?\)?\s+could\s+not\s+be\s+reached):?[^\n]*\n"
    )

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        for item in found or []:
            code = _CODE.search(item.diagnostic)
            if code and code.group(1) in _MSEXCH_CODES:
                item.reason = _MSEXCH_CODES[code.group(1)]
        return found
