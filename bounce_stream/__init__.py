"""bounce-stream: IMAP bounce mailboxes to exactly-once Avro events in Kafka."""

__version__ = "0.1.0"
