"""The ordered detector registry: most reliable first; the first confident answer wins.

Order matters and is pinned by a unit test:

1. Complaints (ARF) are unambiguous and must not be mistaken for bounces.
2. Provider notifications in machine formats (Amazon SES JSON).
3. Standard DSNs (RFC 3464): structured fields beat any text reading -- except from
   OpenSMTPD, whose DSN Status is a placeholder (4.4.7 for every expiry, x.0.0 otherwise)
   while its text part carries the real per-recipient error; Courier, whose DSN is read
   as any other but whose text part adds the command, the remote host and its own sentences;
   chasquid, whose text part says which recipients it gave up on and which were commands;
   and Haraka, whose text says when it gave up and carries what some DSN blocks lack.
4. MTA text formats, each recognised by its own wording.
5. The generic text reader, strict about what counts as a bounce.
6. Auto-replies last: several MTAs mark their bounces ``Auto-Submitted: auto-replied``.
"""

from __future__ import annotations

from bounce_stream.detection.mta.amazonses import AmazonSesNotification
from bounce_stream.detection.mta.arf import Arf
from bounce_stream.detection.mta.au import Au
from bounce_stream.detection.mta.base import Detector
from bounce_stream.detection.mta.biglobe import Biglobe
from bounce_stream.detection.mta.chasquid import Chasquid
from bounce_stream.detection.mta.courier import Courier
from bounce_stream.detection.mta.domino import Domino, Notes
from bounce_stream.detection.mta.dragonfly import DragonFly
from bounce_stream.detection.mta.exchange import Exchange2003
from bounce_stream.detection.mta.exim import Exim
from bounce_stream.detection.mta.fml import Fml
from bounce_stream.detection.mta.generic import GenericText
from bounce_stream.detection.mta.gmx import Gmx
from bounce_stream.detection.mta.google import Gmail, GoogleGroups
from bounce_stream.detection.mta.haraka import Haraka
from bounce_stream.detection.mta.imail import IMail
from bounce_stream.detection.mta.interscan import InterScanMss
from bounce_stream.detection.mta.james import ApacheJames
from bounce_stream.detection.mta.mailfoundry import MailFoundry
from bounce_stream.detection.mta.mailmarshal import MailMarshal, MimecastNotice
from bounce_stream.detection.mta.mfilter import MFilter
from bounce_stream.detection.mta.opensmtpd import OpenSmtpd
from bounce_stream.detection.mta.postfix import PostfixNotice
from bounce_stream.detection.mta.qmail import X2, X4, Qmail, Yahoo
from bounce_stream.detection.mta.rfc3464 import Rfc3464
from bounce_stream.detection.mta.rfc3834 import Rfc3834
from bounce_stream.detection.mta.sendmail import Sendmail, V5Sendmail
from bounce_stream.detection.mta.verizon import Verizon
from bounce_stream.detection.mta.x1 import X1
from bounce_stream.detection.mta.x3 import X3
from bounce_stream.detection.mta.x6 import X6
from bounce_stream.detection.mta.zoho import Zoho

REGISTRY: tuple[Detector, ...] = (
    Arf(),
    AmazonSesNotification(),
    Fml(),
    OpenSmtpd(),
    Courier(),
    Chasquid(),
    Haraka(),
    Rfc3464(),
    # Text formats with an unmistakable signature first, broad wordings later.
    DragonFly(),
    MailFoundry(),
    MFilter(),
    InterScanMss(),
    X1(),
    X3(),
    X6(),
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
    Gmx(),
    Exim(),
    Biglobe(),
    V5Sendmail(),
    Sendmail(),
    X4(),
    Au(),
    GenericText(),
    Rfc3834(),
)
