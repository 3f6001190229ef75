"""The suppression processor: bounce events in, per-recipient state and suppression changes out.

:mod:`.policy` is pure (the rules); :mod:`.codec` maps its records to Avro; :mod:`.processor`
is the exactly-once Kafka loop (aiokafka itself stays in :mod:`bounce_stream.publishing`).
"""
