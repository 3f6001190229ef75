"""STARTTLS is required once chosen: a scripted server that dodges it never gets LOGIN."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bounce_stream.mailbox.imap import ImapError, ImapMailbox
from bounce_stream.settings import MailboxSettings
from tests.hostile.imap_server import HostileImapServer, Scenario


def _settings(server: HostileImapServer) -> MailboxSettings:
    return MailboxSettings(
        name="starttls",
        host="127.0.0.1",
        port=server.port,
        username=server.username,
        password=server.password,  # type: ignore[arg-type]  # pydantic reads str as SecretStr
        tls="starttls",
        timeout_seconds=5,
    )


def _connect_error(scenario: Scenario) -> tuple[ImapError, HostileImapServer]:
    password = f"starttls-Pa55-{uuid.uuid4().hex}"
    with HostileImapServer(scenario, password) as server:
        mailbox = ImapMailbox(_settings(server))
        with pytest.raises(ImapError) as caught:
            asyncio.run(mailbox.connect())
    assert password not in str(caught.value)
    return caught.value, server


def test_server_without_starttls_is_refused_before_login() -> None:
    """A server not offering STARTTLS fails the connection, and no LOGIN (password) is sent."""
    error, server = _connect_error(Scenario.HEALTHY)
    assert "does not offer STARTTLS" in str(error)
    assert server.logins == 0 and b"LOGIN" not in server.verbs
    assert b"STARTTLS" not in server.verbs


def test_starttls_answered_no_is_refused_before_login() -> None:
    """A server that offers STARTTLS but answers it NO fails the connection without LOGIN."""
    error, server = _connect_error(Scenario.STARTTLS_REFUSED)
    assert "refused STARTTLS" in str(error)
    assert b"STARTTLS" in server.verbs and b"LOGIN" not in server.verbs


def test_plaintext_injected_after_starttls_reply_is_refused() -> None:
    """Bytes sent in plaintext after the STARTTLS OK (a response injection) fail the connection."""
    error, server = _connect_error(Scenario.STARTTLS_INJECT)
    assert error.reason == "protocol" and "after the STARTTLS reply" in str(error)
    assert server.logins == 0
