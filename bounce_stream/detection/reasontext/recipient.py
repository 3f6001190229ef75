"""Reason text patterns: recipient.

Ported from Sisimai 4 (BSD-2-Clause), extended for the Sisimai 5 reasons. Sisimai 5's phrase
lists (detection/data) are added to these in reasontext/__init__.py; a phrase that list has
is not repeated here.
"""

from __future__ import annotations

from bounce_stream.detection.reasontext.matcher import TextMatcher

USERUNKNOWN = TextMatcher(
    substrings=(
        "recipient address rejected.",
        "not listed in domino directory",
        "not listed in public name & address book",
        "no such user here",
    ),
    pattern=r"""
    (?>
    [#]5[.]1[.]1[ ]bad[ ]address
    |[<][^ ]+[>][ ]not[ ]found
    |[<][^ ]+[@][^ ]+[>][.][.][.][ ]blocked[ ]by[ ]
    |550[ ]address[ ]invalid
    |5[.]1[.]0[ ]address[ ]rejected[.]
    |account[ ][^ ]+[ ]does[ ]not[ ]exist[ ]at[ ]the[ ]organization
    |adresse[ ]d[ ]au[ ]moins[ ]un[ ]destinataire[ ]invalide[.][ ]invalid[ ]
    recipient[.][0-9a-z_]+41[68]
    |address[ ](?:does[ ]not[ ]exist|not[ ]present[ ]in[ ]directory|unknown)
    |archived[ ]recipient
    |bad[-_ \t]recipient
    |can[']t[ ]accept[ ]user
    |does[ ]not[ ]exist[.]
    |destination[ ](?:
    addresses[ ]were[ ]unknown
    |server[ ]rejected[ ]recipients
    )
    |email[ ]address[ ](?:does[ ]not[ ]exist|could[ ]not[ ]be[ ]found)
    |invalid[ ](?:
    address
    |mailbox:?
    |mailbox[ ]path|recipient
    )
    |is[ ]not[ ](?:
    a[ ]known[ ]user
    |a[ ]valid[ ]mailbox
    |an[ ]active[ ]address[ ]at[ ]this[ ]host
    )
    |mailbox[ ](?:
    [^ ]+[ ]does[ ]not[ ]exist
    |[^ ]+[@][^ ]+[ ]unavailable
    |does[ ]not[ ]exist
    |invalid
    |is[ ](?:inactive|unavailable)
    |not[ ](?:present|found)
    |unavailable
    )
    |nessun[ ]utente[ ]simile[ ]in[ ]questo[ ]indirizzo
    |no[ ](?:
    [ ][^ ]+[ ]in[ ]name[ ]directory
    |account[ ]by[ ]that[ ]name[ ]here
    |existe[ ](?:dicha[ ]persona|ese[ ]usuario[ ])
    |mail[ ]box[ ]available[ ]for[ ]this[ ]user
    |mailbox[ ](?:
    by[ ]that[ ]name[ ]is[ ]currently[ ]available
    |found
    )
    |matches[ ]to[ ]nameserver[ ]query
    |such[ ](?:
    address[ ]here
    |mailbox
    |person[ ]at[ ]this[ ]address
    |recipient
    |user(?:[ ]here)?
    )
    |thank[ ]you[ ]rejected:[ ]account[ ]unavailable:
    |valid[ ]recipients,[ ]bye
    )
    |non[- ]?existent[ ]user
    |not[ ](?:
    a[ ]valid[ ](?:recipient|user[ ]here)
    |a[ ]local[ ]address
    |email[ ]addresses
    )
    |rcpt[ ][<][^ ]+[>][ ]does[ ]not[ ]exist
    |recipient[ ]address[ ]rejected[.][ ][(]in[ ]reply[ ]to[ ]rcpt[ ]to[ ]command[)]
    |recipient[ ](?:
    [^ ]+[ ]was[ ]not[ ]found[ ]in
    |address[ ]rejected:[ ](?:
    access[ ]denied
    |invalid[ ]user
    |invalid-recipient
    |user[ ][^ ]+[ ]does[ ]not[ ]exist
    |user[ ]unknown[ ]in[ ][^ ]+[ ]table
    |unknown[ ]user
    )
    |does[ ]not[ ]exist(?:[ ]on[ ]this[ ]system)?
    |is[ ]not[ ]local
    |not[ ](?:exist|found|ok)
    |refuses[ ]to[ ]accept[ ]your[ ]mail
    |unknown
    )
    |requested[ ]action[ ]not[ ]taken:[ ]mailbox[ ]unavailable
    |resolver[.]adr[.]recipient notfound
    |said:[ ]550[- ]5[.]1[.]1[ ][^ ]+[ ]user[ ]unknown[ ]
    |sorry,[ ](?:
    user[ ]unknown
    |badrcptto
    |no[ ]mailbox[ ]here[ ]by[ ]that[ ]name
    |your[ ]envelope[ ]recipient[ ]has[ ]been[ ]denied
    )
    |that[ ]domain[ ]or[ ]user[ ]isn't[ ]in[ ]my[ ]list[ ]of[ ]allowed[ ]rcpthosts
    |the[ ](?:
    email[ ]account[ ]that[ ]you[ ]tried[ ]to[ ]reach[ ]does[ ]not[ ]exist
    |following[ ]recipients[ ]was[ ]undeliverable
    |user[']s[ ]email[ ]name[ ]is[ ]not[ ]found
    )
    |there[ ]is[ ]no[ ]one[ ]at[ ]this[ ]address
    |this[ ](?:
    address[ ]no[ ]longer[ ]accepts[ ]mail
    |email[ ]address[ ]is[ ]wrong[ ]or[ ]no[ ]longer[ ]valid
    |recipient[ ]is[ ]in[ ]my[ ]badrecipientto[ ]list
    |recipient[ ]is[ ]not[ ]in[ ]my[ ]validrcptto[ ]list
    |spectator[ ]does[ ]not[ ]exist
    |user[ ]doesn[']?t[ ]have[ ]a[ ][^ ]+[ ]account
    )
    |unknown[ ](?:
    e[-]?mail[ ]address
    |local[- ]part
    |mailbox
    |recipient
    |user
    )
    |user[ ](?:
    [^ ]+[ ]was[ ]not[ ]found
    |[^ ]+[ ]does[ ]not[ ]exist
    |does[ ]not[ ]exist
    |missing[ ]home[ ]directory
    |not[ ](?:active|exist|found|known)
    |unknown
    )
    |utilisateur[ ]inconnu[ ]!
    |vdeliver:[ ]invalid[ ]or[ ]unknown[ ]virtual[ ]user
    |your[ ]envelope[ ]recipient[ ]is[ ]in[ ]my[ ]badrcptto[ ]list
    )

    """,
)

HOSTUNKNOWN = TextMatcher(
    substrings=(
        "illegal host/domain name found",
        "invalid domain",
        "dns lookup failure: host",
        "no such host",
        "domain not found",
    ),
    pattern=r"""
    553[ ][^ ]+[ ]does[ ]not[ ]exist
    """,
)

HASMOVED = TextMatcher(
    substrings=(
        " has been replaced by ",
        "has moved with no forwarding address",
        "mailbox has moved",
        "no longer at this address",
    ),
)

MAILBOXFULL = TextMatcher(
    substrings=(
        "account that you tried to reach is over quota",
        "inbox is full",
        "mailbox is over quota",
        "out of storage space",
    ),
)

SUSPEND = TextMatcher(
    substrings=(
        "account is disabled",
        "account has been disabled",
        "mailbox is disabled",
        "account is inactive",
        "account disabled",
    ),
)

EXCEEDLIMIT = TextMatcher(
    substrings=(
        "message header size exceeds limit",
        "message too large",
    ),
)

NOTACCEPT = TextMatcher(
    substrings=(
        "indicated no smtp service",
        "doesn't receive email",
        "does not accept mail",
        "no mx found for domain",
        "null mx",
        "accepts no mail",
    ),
)

MESGTOOBIG = TextMatcher(
    substrings=(),
)

VACATION = TextMatcher(
    substrings=(
        "i am away on vacation",
        "i am away until",
        "i am out of the office",
        "i will be traveling for work on",
    ),
)
