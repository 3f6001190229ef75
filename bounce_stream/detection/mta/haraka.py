"""Haraka's outbound bounces (outbound/hmail.js and its default template
config/outbound.bounce_message, Haraka 3.3).

Layout: "Hi. This is the Haraka Mailer program at H.", "I'm afraid I wasn't able to deliver
your message ... to the following addresses.", "This is a permanent error; I've given up.
Sorry it didn't work out." (in every bounce), then::

    Intended Recipients: <a@b>, <c@d>
    Failure Reason: Error: <the error>

    <a@b>: 550 5.1.1 <a@b>: User unknown

(one line per recipient whose reply Haraka kept), an HTML and an image part, and a
message/delivery-status part. "Failure Reason: Error: Too many failures (<last error>)" is
Haraka giving up on a temporary failure after its last retry (hmail.js ``temp_fail``); its DSN
then turns the remote's code permanent (4.x.y -> 5.x.y). The last error is either the remote's
reply ("Upstream error: 421 4.7.0 ...", "Some recipients temp failed: <a@b>" with the reply in
the recipient's line) or Haraka's own ("Tried all MXs", "No TLS available but required by
configuration."), whose DSN block has Haraka's own code (5.1.2 for "Tried all MXs") or no
Status at all: expired. Recipients refused at once while others were accepted are moved to
a message of their own that loses their replies (hmail.js ``split_to_new_recipients``): its
bounce says only "Some recipients failed: <a@b>, ..." and its DSN blocks have no Status or
Diagnostic-Code, so nothing tells the cause (undefined).

The DSN's fields are read as any DSN's; the text adds the giving-up, and the error where a
block has no Diagnostic-Code.
"""

from __future__ import annotations

import re

from bounce_stream.detection import statuscodes
from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.mta.rfc3464 import Rfc3464
from bounce_stream.detection.reasons import Reason

_SIGNATURE = "this is the haraka mailer program at"
_FAILURE_REASON = re.compile(r"(?im)^failure reason:[ \t]*(?:error:[ \t]*)?([^\n]{0,2000})")
_GAVE_UP = re.compile(r"(?i)\Atoo many failures \((.*)\)\s*\Z")
# A recipient's own line of the extended reason: "<a@b>: 550 5.1.1 ...".
_RECIPIENT_LINE = re.compile(r"(?m)^<([^>\s]{1,500})>:[ \t]*([^\n]{1,2000})")
_DSN = Rfc3464()


class Haraka:
    """Haraka's outbound bounces."""

    name = "haraka"

    def detect(self, ctx: Context) -> list[Evidence] | None:
        text = ctx.report_text
        if _SIGNATURE not in text[:4000].lower():
            return None
        found = _DSN.detect(ctx)
        if not found:
            return None
        failure = _FAILURE_REASON.search(text)
        error = failure.group(1).strip() if failure else ""
        gave_up = _GAVE_UP.match(error)
        last_error = gave_up.group(1).strip() if gave_up else error
        lines = {m.group(1).lower(): m.group(2).strip() for m in _RECIPIENT_LINE.finditer(text)}
        for item in found:
            own = lines.get(item.recipient)
            if not item.diagnostic_type:
                # No Diagnostic-Code: the recipient's own line, else nothing (the DSN reader's
                # fallback would read the boilerplate around the address).
                item.diagnostic = own or ""
                item.reply_code = statuscodes.find_reply_code(own) if own else None
            if gave_up is None:
                continue
            item.gave_up = True
            if not item.diagnostic_type and not own:
                item.diagnostic = last_error
            # Haraka's own error (no remote reply in the bounce): it gave up, nothing more.
            if not own and statuscodes.find_reply_code(last_error) is None:
                item.reason = Reason.EXPIRED
        return found
