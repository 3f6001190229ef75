"""The real-server fixtures of tests/integration (Kafka, Dovecot), available here too.

Imported, so this folder gets its own session instances (a second broker and Dovecot when
both folders run in one session): they stay private to the hostile tests.
"""

from tests.integration.conftest import (  # noqa: F401 - fixtures are found by name
    dovecot,
    dovecot_factory,
    imap_user,
    kafka,
    kafka_factory,
    stack_dir,
)
