"""Reason text patterns: recipient.

Ported from Sisimai (BSD-2-Clause), extended for the Sisimai 5 reasons.
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
        "domain does not exist",
        "dns lookup failure: host",
        "no such host",
        "domain not found",
        "domain does not exist",
        "domain is not reachable",
        "domain must exist",
        "host or domain name not found",
        "host unknown",
        "host unreachable",
        "mail domain mentioned in email address is unknown",
        "name or service not known",
        "no such domain",
        "recipient address rejected: unknown domain name",
        "recipient domain must exist",
        "the account or domain may not exist",
        "unknown host",
        "unroutable address",
        "unrouteable address",
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
        "account disabled temporarly for exceeding receiving limits",
        "account is exceeding their quota",
        "account is over quota",
        "account is temporarily over quota",
        "boite du destinataire pleine",
        "delivery failed: over quota",
        "disc quota exceeded",
        "does not have enough space",
        "exceeded storage allocation",
        "exceeding its mailbox quota",
        "full mailbox",
        "is over disk quota",
        "is over quota temporarily",
        "mail file size exceeds the maximum size allowed for mail delivery",
        "mail quota exceeded",
        "mailbox exceeded the local limit",
        "mailbox full",
        "mailbox has exceeded its disk space limit",
        "mailbox is full",
        "mailbox over quota",
        "mailbox quota usage exceeded",
        "mailbox size limit exceeded",
        "maildir over quota",
        "maildir delivery failed: userdisk quota ",
        "maildir delivery failed: domaindisk quota ",
        "mailfolder is full",
        "not enough storage space in",
        "over the allowed quota",
        "quota exceeded",
        "quota violation for",
        "recipient reached disk quota",
        "recipient rejected: mailbox would exceed maximum allowed storage",
        "the recipient mailbox has exceeded its disk space limit",
        "the user's space has been used up",
        "the user you are trying to reach is over quota",
        "too much mail data",
        "user has exceeded quota, bouncing mail",
        "user has too many messages on the server",
        "user is over quota",
        "user is over the quota",
        "user over quota",
        "user over quota. (#5.1.1)",
        "was automatically rejected: quota exceeded",
        "would be over the allowed quota",
    ),
)

SUSPEND = TextMatcher(
    substrings=(
        "account is disabled",
        "account has been disabled",
        "mailbox is disabled",
        "account is inactive",
        "account disabled",
        " is currently suspended",
        " temporary locked",
        "boite du destinataire archivee",
        "email account that you tried to reach is disabled",
        "has been suspended",
        "invalid/inactive user",
        "is a deactivated mailbox",
        "mailbox currently suspended",
        "mailbox is frozen",
        "mailbox unavailable or access denied",
        "recipient rejected: temporarily inactive",
        "recipient suspend the service",
        "this account has been disabled or discontinued",
        "this mailbox is disabled",
        "user suspended",
        "vdelivermail: account is locked email bounced",
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
        "does not accept mail (nullmx)",
        "host/domain does not accept mail",
        "host does not accept mail",
        "name server: .: host not found",
        "no mx record found for domain=",
        "no route for current request",
        "smtp protocol returned a permanent error",
    ),
)

MESGTOOBIG = TextMatcher(
    substrings=(
        "exceeded maximum inbound message size",
        "line limit exceeded",
        "max message size exceeded",
        "message file too big",
        "message length exceeds administrative limit",
        "message size exceeds fixed limit",
        "message size exceeds fixed maximum message size",
        "message size exceeds maximum value",
        "message too big",
        "message too large for this ",
        "size limit",
        "taille limite du message atteinte",
    ),
)

VACATION = TextMatcher(
    substrings=(
        "i am away on vacation",
        "i am away until",
        "i am out of the office",
        "i will be traveling for work on",
    ),
)
