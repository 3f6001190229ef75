"""The text-format MTA detectors, in registry order (most distinctive wording first)."""

from __future__ import annotations

from bounce_stream.detection.mta.au import Au
from bounce_stream.detection.mta.base import Detector
from bounce_stream.detection.mta.domino import Domino, Notes
from bounce_stream.detection.mta.dragonfly import DragonFly
from bounce_stream.detection.mta.exchange import Exchange2003
from bounce_stream.detection.mta.exim import Exim
from bounce_stream.detection.mta.google import Gmail, GoogleGroups
from bounce_stream.detection.mta.imail import IMail
from bounce_stream.detection.mta.james import ApacheJames
from bounce_stream.detection.mta.mailmarshal import MailMarshal, MimecastNotice
from bounce_stream.detection.mta.postfix import PostfixNotice
from bounce_stream.detection.mta.qmail import X2, Qmail, Yahoo
from bounce_stream.detection.mta.sendmail import Sendmail
from bounce_stream.detection.mta.verizon import Verizon
from bounce_stream.detection.mta.zoho import Zoho

TEXT_MTAS: tuple[Detector, ...] = (
    DragonFly(),
    Zoho(),
    PostfixNotice(),
    Verizon(),
    ApacheJames(),
    IMail(),
    MailMarshal(),
    MimecastNotice(),
    Qmail(),
    Yahoo(),
    X2(),
    Gmail(),
    GoogleGroups(),
    Exchange2003(),
    Domino(),
    Notes(),
    Exim(),
    Sendmail(),
    Au(),
)
