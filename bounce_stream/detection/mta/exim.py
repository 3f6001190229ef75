"""Exim and its white-labelled deployments (mail.ru, GMX/mail.com, MXLogic, ...).

Layout: "This message was created automatically by mail delivery software." then, after
"The following address(es) failed:", each address indented on its own line (GMX quotes it:
``"a@b":``; MXLogic puts the reply on the same line) followed by indented lines such as
"SMTP error from remote mail server after RCPT TO:<a@b>: host mx [ip]: 550 5.1.1 ...".
mail.ru repeats the report in Russian and English (duplicates are merged). Delay warnings
("has not yet been delivered") carry no failure, only a delay.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import addresses_in
from bounce_stream.detection.mta.textbounce import TextBounce, report_lower, top_alternatives
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import lower_case_variant, squeeze

_DELAYED = re.compile(
    r"(?i)has\s+not\s+yet\s+been\s+delivered|delivery\s+to\s+the\s+following\s+address(?:\(es\)|es)?\s+has\s+been\s+delayed"
)
_DELAYED_LOWER = lower_case_variant(_DELAYED)  # for lower-cased text (see lowers_safely)
# Its alternatives one by one: each starts with a literal the engine skips to.
_DELAYED_LOWER_PARTS = tuple(
    map(re.compile, top_alternatives(_DELAYED_LOWER.pattern if _DELAYED_LOWER else "(?!)"))
)
# The start line's wording in English and Russian: only the English alternatives can match
# ASCII text, and they have a lower-case variant (see TextBounce.start_ascii).
_START_ENGLISH = (
    r"the\s+following\s+address(?:\(es\)|es)?\s+failed|could\s+not\s+be\s+delivered\s+to\s+one\s+or\s+more"
    r"(?:\s+of\s+its)?\s+recipients[^\n]*+|has\s+not\s+yet\s+been\s+delivered[^\n]*+"
)  # possessive: the start pattern's own [^\n]*\n follows (a line without "\n" was quadratic)
_START_RUSSIAN = r"следующим\s+получателям|одному\s+или\s+нескольким\s+получателям"


# Exim's own messages (deliver.c) for an address given up after its temporary failures
# outlasted the retry rules: an expiry of temporary failures, not a permanent refusal.
# Written at the start of the address's message (GMX's "delivery retry timeout exceeded" is
# its own product's wording, not Exim's). "(?<!\s)\s*+": white space is entered only where it
# starts and taken whole (linear even if searched; the same as "\s*" before a word).
_RETRY_EXPIRED = re.compile(
    r"(?i)(?<!\s)\s*+(?:retry\s+timeout\s+exceeded"
    r"|retry\s+time\s+not\s+reached\s+for\s+any\s+host\s+after\s+a\s+long\s+failure\s+period"
    r"|all\s+hosts\s+have\s+been\s+failing\s+for\s+a\s+long\s+time)"
)
_FOR = re.compile(r"(?i)\bfor\s+<?([^>\s;]+@[^>\s;]+)")
_BARE_LOCAL_PART = re.compile(r"(?m)^[ \t]{2,}([A-Za-z0-9._+-]{1,64})[ \t]*$")


class Exim(TextBounce):
    """Exim "Mail delivery failed: returning message to sender"."""

    name = "exim"
    keywords = ("automatically", "mail.ru", "delivered")
    signature = re.compile(
        r"(?i)this\s+message\s+was\s+created\s+automatically\s+by\s+mail\s+delivery\s+software|"
        r"mail\.ru|a\s+message\s+that\s+you\s+(?:have\s+)?sent\s+could\s+not\s+be\s+delivered"
    )
    start = re.compile(rf"(?i)(?:{_START_ENGLISH}|{_START_RUSSIAN})[^\n]*\n")
    start_ascii = re.compile(rf"(?i)(?:{_START_ENGLISH})[^\n]*\n")

    def detect(self, ctx: Context) -> list[Evidence] | None:
        found = super().detect(ctx)
        if found == []:
            found = self._local_parts(ctx)
        if not found:
            return found
        lowered = ctx.memo(report_lower)
        if lowered is not None and _DELAYED_LOWER is not None:
            delayed = any(part.search(lowered) is not None for part in _DELAYED_LOWER_PARTS)
        else:
            delayed = _DELAYED.search(ctx.report_text) is not None
        for item in found:
            if delayed:
                item.action = "delayed"
            if item.smtp_command == "MAIL" and not statuscodes.find_status(item.diagnostic):
                # Refused at MAIL FROM: nothing is known about the recipient yet; Sisimai
                # reports such failures with its "on hold" pseudo status.
                temporary = (item.reply_code or "").startswith("4")
                item.status = "4.0.901" if temporary else "5.0.901"
            elif _RETRY_EXPIRED.match(item.diagnostic) and not statuscodes.find_status(
                item.diagnostic
            ):
                item.status = statuscodes.pseudo_status(Reason.EXPIRED, temporary=True)
        return found

    def _local_parts(self, ctx: Context) -> list[Evidence]:
        """Exim names local recipients by local part only; the returned message has the rest."""
        original = ctx.original
        if original is None:
            return []
        received_for = [
            hit.group(1) for value in original.get_all("received") if (hit := _FOR.search(value))
        ]
        known = addresses_in(
            " ".join(original.get_all("to") + original.get_all("cc") + received_for)
        )
        found: list[Evidence] = []
        for line in _BARE_LOCAL_PART.finditer(self.section(ctx)):
            local = line.group(1).lower()
            for address in known:
                if address.split("@", 1)[0] == local:
                    rest = self.section(ctx)[line.end() :].split("\n\n", 1)[0]
                    found.append(self.evidence(ctx, address, squeeze(rest)))
                    break
        return found
