"""Trustwave (Marshal) MailMarshal SMTP and Mimecast text notices.

MailMarshal: "Your message: From: ... Subject: ..." then "Could not be delivered because of"
and the remote reply on its own paragraph, then "The following recipients were affected:"
with one indented address per line, then "Additional Information" (Remote-MTA, ...).

Mimecast: "An email that you attempted to send to the following address could not be
delivered:" then ``-- a@b``, "The problem appears to be : -- <summary>" and "Additional
information follows : -- <remote reply>".
"""

from __future__ import annotations

import re

from bounce_stream.detection.context import Context
from bounce_stream.detection.evidence import Evidence
from bounce_stream.detection.headers import ADDRESS_RE
from bounce_stream.detection.mta.textbounce import TextBounce
from bounce_stream.detection.textutil import squeeze

_BECAUSE = re.compile(r"(?is)could\s+not\s+be\s+delivered\s+because\s+of\s*(.+?)\n\s*\n")
_AFFECTED = re.compile(r"(?is)following\s+recipients\s+were\s+affected:[ \t]*\n(.+?)(?:\n\s*\n|$)")
_MIMECAST_ADDRESS = re.compile(r"(?m)^\s*--\s*<?(" + ADDRESS_RE.pattern + r")>?\s*$")
_MIMECAST_PROBLEM = re.compile(r"(?i)the\s+problem\s+appears\s+to\s+be\s*:\s*--\s*([^\n]+)")
_MIMECAST_DETAIL = re.compile(r"(?i)additional\s+information\s+follows\s*:\s*--\s*([^\n]+)")


class MailMarshal(TextBounce):
    """MailMarshal "Undeliverable Mail" notices."""

    name = "mailmarshal"
    keywords = ("delivered",)
    signature = re.compile(r"(?i)could\s+not\s+be\s+delivered\s+because\s+of")

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.report_text
        because = _BECAUSE.search(text + "\n\n")
        affected = _AFFECTED.search(text)
        diagnostic = squeeze(because.group(1)) if because else ""
        addresses = ADDRESS_RE.findall(affected.group(1)) if affected else []
        unique = dict.fromkeys(address.lower() for address in addresses)
        return [self.evidence(ctx, address, diagnostic) for address in unique]


class MimecastNotice(TextBounce):
    """Mimecast "Email Delivery Failure" alerts."""

    name = "mimecast"
    keywords = ("appears",)
    signature = re.compile(r"(?i)the\s+problem\s+appears\s+to\s+be")

    def detect(self, ctx: Context) -> list[Evidence] | None:
        if not self.claims(ctx):
            return None
        text = ctx.report_text
        parts = (_MIMECAST_DETAIL.search(text), _MIMECAST_PROBLEM.search(text))
        # The remote server's reply first: it carries the status code.
        diagnostic = squeeze(" ".join(found.group(1) for found in parts if found))
        unique = dict.fromkeys(found.group(1).lower() for found in _MIMECAST_ADDRESS.finditer(text))
        return [self.evidence(ctx, address, diagnostic) for address in unique]
