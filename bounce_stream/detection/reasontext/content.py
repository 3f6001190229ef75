"""Reason text patterns: content.

Ported from Sisimai 4 (BSD-2-Clause), extended for the Sisimai 5 reasons. Sisimai 5's phrase
lists (detection/data) are added to these in reasontext/__init__.py; a phrase that list has
is not repeated here.
"""

from __future__ import annotations

from bounce_stream.detection.reasontext.matcher import TextMatcher

SPAMDETECTED = TextMatcher(
    pattern=r"""
    (?>
    ["]the[ ]mail[ ]server[ ]detected[ ]your[ ]message[ ]as[ ]spam[ ]and[ ]
    has[ ]prevented[ ]delivery[.]["]    # CPanel/Exim with SA rejections on
    |(?:\d[.]\d[.]\d|\d{3})[ ]spam\Z
    |554[ ]5[.]7[.]0[ ]reject,[ ]id=\d+
    |appears[ ]to[ ]be[ ]unsolicited
    |blacklisted[ ]url[ ]in[ ]message
    |block[ ]for[ ]spam
    |blocked[ ]by[ ](?:
    policy:[ ]no[ ]spam[ ]please
    |spamassassin                   # rejected by SpamAssassin
    )
    |blocked[ ]for[ ]abuse[.][ ]see[ ]http://att[.]net/blocks   # AT&T
    |bulk[ ]email
    |considered[ ]unsolicited[ ]bulk[ ]e-mail[ ][(]spam[)][ ]by[ ]our[ ]mail[ ]filters
    |content[ ]filter[ ]rejection
    |cyberoam[ ]anti[ ]spam[ ]engine[ ]has[ ]identified[ ]this[ ]email[ ]as[ ]a[ ]bulk[ ]email
    |denied[ ]due[ ]to[ ]spam[ ]list
    |greylisted.?.[ ]please[ ]try[ ]again[ ]in
    |high[ ]probability[ ]of[ ]spam
    |https?://(?:www[.]spamhaus[.]org|dsbl[.]org|mail[.]163[.]com/help/help_spam_16[.]htm)
    |listed[ ]in[ ]work[.]drbl[.]imedia[.]ru
    |mail[ ](?:
    appears[ ]to[ ]be[ ]unsolicited    # rejected due to spam
    |content[ ]denied   # http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726
    |rejete[.][ ]mail[ ]rejected[.][ ][0-9a-z_]+506
    )
    |may[ ]consider[ ]spam
    |message[ ](?:
    considered[ ]as[ ]spam[ ]or[ ]virus
    |contains[ ]spam[ ]or[ ]virus
    |content[ ]rejected
    |detected[ ]as[ ]spam
    |filtered
    |filtered[.][ ](?:
    please[ ]see[ ]the[ ]faqs[ ]section[ ]on[ ]spam
    |refer[ ]to[ ]the[ ]troubleshooting[ ]page[ ]at[ ]
    )
    |is[ ]being[ ]rejected[ ]as[ ]it[ ]seems[ ]to[ ]be[ ]a[ ]spam
    |looks[ ]like[ ]spam
    |refused[ ]by[ ](?:
    mailmarshal[ ]spamprofiler
    |trustwave[ ]seg[ ]spamprofiler
    )
    |rejected[ ](?:
    as[ ]spam
    |because[ ]of[ ]unacceptable[ ]content
    |due[ ]to[ ]suspected[ ]spam[ ]content
    |for[ ]policy[ ]reasons
    )
    )
    |our[ ](?:
    email[ ]server[ ]thinks[ ]this[ ]email[ ]is[ ]spam
    |filters[ ]rate[ ]at[ ]and[ ]above[ ]\d+[ ]percent[ ]probability[ ]of[ ]being[ ]spam
    |system[ ]has[ ]detected[ ]that[ ]this[ ]message[ ]is
    )
    |probable[ ]spam
    |reject[ ]bulk[.]advertising
    |rejected(?:
    :[ ]spamassassin[ ]score[ ]
    |[ ]by[ ][^ ]+[ ][(]spam[)]
    |[ ]due[ ]to[ ]spam[ ](?:url[ ]in[ ])?(?:classification|content)
    )
    |rejecting[ ](?:banned|mail)[ ]content
    |related[ ]to[ ]content[ ]with[ ]spam[-]like[ ]characteristics
    |rule[ ]imposed[ ]as[ ][^ ]+[ ]is[ ]blacklisted[ ]on
    |sender[ ]domain[ ]listed[ ]at[ ][^ ]+
    |sending[ ]address[ ]not[ ]accepted[ ]due[ ]to[ ]spam[ ]filter
    |spam[ ](?:
    [^ ]+[ ]exceeded
    |blocked
    |check
    |content[ ]matched
    |detected
    |email
    |email[ ]not[ ]accepted
    |message[ ]rejected[.]       # mail.ru
    |not[ ]accepted
    |refused
    |rejection
    |reporting[ ]address
    |score[ ]
    )
    |spambouncer[ ]identified[ ]spam    # SpamBouncer identified SPAM
    |spamming[ ]not[ ]allowed
    |too[ ]much[ ]spam[.]               # Earthlink
    |the[ ]email[ ]message[ ]was[ ]detected[ ]as[ ]spam
    |the[ ]message[ ](?:
    has[ ]been[ ]rejected[ ]by[ ]spam[ ]filtering[ ]engine
    |was[ ]rejected[ ]due[ ]to[ ]classification[ ]as[ ]bulk[ ]mail
    )
    |the[ ]content[ ]of[ ]this[ ]message[ ]looked[ ]like[ ]spam # SendGrid
    |this[ ](?:e-mail|mail)[ ](?:
    cannot[ ]be[ ]forwarded[ ]because[ ]it[ ]was[ ]detected[ ]as[ ]spam
    |is[ ]classified[ ]as[ ]spam[ ]and[ ]is[ ]rejected
    )
    |this[ ]message[ ](?:
    appears[ ]to[ ]be[ ]spam
    |has[ ]been[ ](?:
    identified[ ]as[ ]spam
    |scored[ ]as[ ]spam[ ]with[ ]a[ ]probability
    )
    |scored[ ][^ ]+[ ]spam[ ]points
    |was[ ]classified[ ]as[ ]spam
    |was[ ]rejected[ ]by[ ]recurrent[ ]pattern[ ]detection[ ]system
    )
    |transaction[ ]failed[ ]spam[ ]message[ ]not[ ]queued       # SendGrid
    |we[ ]dont[ ]accept[ ]spam
    |you're[ ]using[ ]a[ ]mass[ ]mailer
    |your[ ](?:
    email[ ](?:
    appears[ ]similar[ ]to[ ]spam[ ]we[ ]have[ ]received[ ]before
    |breaches[ ]local[ ]uribl[ ]policy
    |had[ ]spam[-]like[ ]
    |is[ ](?:considered|probably)[ ]spam
    |was[ ]detected[ ]as[ ]spam
    )
    |message[ ](?:
    as[ ]spam[ ]and[ ]has[ ]prevented[ ]delivery
    |has[ ]been[ ](?:
    temporarily[ ]blocked[ ]by[ ]our[ ]filter
    |rejected[ ]because[ ]it[ ]appears[ ]to[ ]be[ ]spam
    )
    |has[ ]triggered[ ]a[ ]spam[ ]block
    |may[ ]contain[ ]the[ ]spam[ ]contents
    |failed[ ]several[ ]antispam[ ]checks
    )
    )
    )

    """,
)

# Virus scanners' wording as MTAs relay it: "554 5.7.0 Message rejected: virus found (Eicar)",
# Exim's malware ACL "This message contains malware (...)", amavisd-new "INFECTED: name",
# ClamAV "Infected (name)" / "... FOUND".
VIRUSDETECTED = TextMatcher(
    substrings=(
        "virus found",
        "found virus",
        "contains a virus",
        "contains malware",
        "malware detected",
        "infected with",
    ),
    pattern=r"""
    (?>
    (?:contains|containing|carries|carrying)[ ](?:a[ ])?(?:virus|viruses|malware|worm|trojan)
    |infected:[ ]
    |infected[ ][(]
    )
    """,
)

CONTENTERROR = TextMatcher(
    substrings=(),
)
