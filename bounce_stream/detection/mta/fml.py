"""fml, the Japanese mailing-list manager: its rejections of list posts.

fml answers a post it refuses from ``<list>-admin@`` with an ``X-MLServer: fml [fml 4.0 ...]``
header and a Message-ID ``<NNNNN.FML12345@host>``. The body states the refusal, naming the
list in angle brackets ("Duplicated Message-ID in <list@example.org>.", "NOT MEMBER article
from a@b", "reject mail from a@b", "You are not a member of this mailing list"), then
"Original mail as follows:". The "recipient" is the list the post was addressed to.
Meanings (fml's wording): not a member / rejected sender -> rejected; duplicated Message-ID
or a loop -> systemerror; "Security alert:" -> securityerror.
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import first_address
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.reasons import Reason
from bounce_stream.detection.textutil import squeeze

_FML_ID = re.compile(r"(?i)<\d+\.fml[^@>\s]*@")
_END = re.compile(r"(?im)^original\s+mail\s+as\s+follows:")
_LIST = re.compile(r"<([^>\s]+@[^>\s]+)>\.?[ \t]*$", re.M)
# fml's refusals and what they mean, first match wins (lower-case patterns).
_MEANINGS: tuple[tuple[re.Pattern[str], Reason], ...] = (
    (
        re.compile(
            r"not\s+member\s+article\s+from\s|reject\s+mail\s+(?:from\s|\S+:)|"
            r"reject\s+since\s.+\sheader\s+may\s+cause\s+mail\s+loop|reject\s+spammers:|"
            r"you\s+are\s+not\s+a\s+member\s+of\s+this\s+mailing\s+list|"
            r"spam\s+mail\s+from\s+a\s+spammer\s+is\s+rejected"
        ),
        Reason.REJECTED,
    ),
    (
        re.compile(
            r"duplicated\s+message-id|fml\s.+\shas\s+detected\s+a\s+loop\s+condition|"
            r"loop\s+back\s+warning:|loop\s+alert:|unix\s+from\s+loop|fml\s+system\s+error\s+message"
        ),
        Reason.SYSTEMERROR,
    ),
    (re.compile(r"security\s+alert:"), Reason.SECURITYERROR),
)


class Fml(TextBounce):
    """fml list-server refusals."""

    name = "fml"

    def claims(self, ctx: Context) -> bool:
        server = (ctx.headers.get("x-mlserver") or "").lower()
        message_id = ctx.headers.get("message-id") or ""
        return "fml" in server and _FML_ID.search(message_id) is not None

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.body_text[:100_000]
        end = _END.search(text)
        notice = text[: end.start()] if end else text[:4000]
        lists = [first_address("<" + found + ">") for found in _LIST.findall(notice)]
        addresses = list(dict.fromkeys(address for address in lists if address))
        if not addresses:
            to = first_address(ctx.headers.get("x-ml-name") or "") or first_address(
                (ctx.original.get("to") if ctx.original else None) or ""
            )
            addresses = [to] if to else []
        diagnostic = squeeze(notice)[:2000]
        reason = fml_reason(diagnostic)
        found = []
        for address in addresses:
            item = self.evidence(ctx, address, diagnostic)
            item.reason = reason
            found.append(item)
        return found


def fml_reason(notice: str) -> Reason | None:
    """What fml's refusal ``notice`` means (see _MEANINGS); None when it says nothing known."""
    lowered = notice.lower()
    return next((meaning for pattern, meaning in _MEANINGS if pattern.search(lowered)), None)
