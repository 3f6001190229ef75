"""Configuration loading: YAML, environment overrides, secrets, validation and its messages."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml

from bounce_stream.settings import ConfigError, Settings, load_settings

SECRET = "Zq7-hunter2-UNIQUE-pw"

ISSUE_EXAMPLE = """\
kafka:
  bootstrap_servers: kafka-1:9092,kafka-2:9092
  events_topic: bounces.events
  checkpoint_topic: bounces.checkpoints
  dead_letter_topic: bounces.dead-letter
mailboxes:
  - name: main
    host: imap.example.com
    port: 993
    username: bounces@example.com
    password: s3cret
    tls: true
    folder: INBOX
metrics:
  port: 9200
"""


def _mailbox(**overrides: Any) -> dict[str, Any]:
    mb: dict[str, Any] = {
        "name": "main",
        "host": "imap.example.com",
        "username": "bounces",
        "password": SECRET,
    }
    mb.update(overrides)
    return {k: v for k, v in mb.items() if v is not None}


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _load(tmp_path: Path, data: Any, environ: dict[str, str] | None = None) -> Settings:
    return load_settings(_write(tmp_path, data), environ or {})


def _config_error(tmp_path: Path, data: Any, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data, environ)
    return str(info.value)


# --- the documented shape and defaults ------------------------------------------------------


def test_issue_example_config_loads(tmp_path: Path) -> None:
    """The example config of the issue (kafka topics, one TLS mailbox, metrics port) loads."""
    settings = _load(tmp_path, ISSUE_EXAMPLE)
    assert settings.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.kafka.events_topic == "bounces.events"
    assert settings.kafka.checkpoint_topic == "bounces.checkpoints"
    assert settings.kafka.dead_letter_topic == "bounces.dead-letter"
    (mb,) = settings.mailboxes
    assert (mb.name, mb.host, mb.port, mb.username) == (
        "main",
        "imap.example.com",
        993,
        "bounces@example.com",
    )
    assert mb.tls == "implicit"
    assert mb.folder == "INBOX"
    assert mb.secret == "s3cret"
    assert settings.metrics.port == 9200


def test_defaults_without_any_file() -> None:
    """With no file and no environment, the documented topic names and metrics port apply."""
    settings = load_settings(None, {})
    assert settings.kafka.events_topic == "bounce-stream.events"
    assert settings.kafka.checkpoint_topic == "bounce-stream.checkpoints"
    assert settings.kafka.dead_letter_topic == "bounce-stream.dead-letter"
    assert settings.metrics.port == 9108
    assert settings.mailboxes == []
    assert settings.schema_registry.url is None


def test_mailbox_defaults_are_secure(tmp_path: Path) -> None:
    """A mailbox without port/tls/folder gets 993, TLS with verification on, and INBOX."""
    (mb,) = _load(tmp_path, {"mailboxes": [_mailbox()]}).mailboxes
    assert mb.port == 993
    assert mb.tls == "implicit"
    assert mb.tls_verify is True
    assert mb.folder == "INBOX"
    assert mb.housekeeping == "none"


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    """An empty YAML file is treated as an empty mapping, not an error."""
    assert _load(tmp_path, "").kafka.events_topic == "bounce-stream.events"


def test_mailbox_id_format(tmp_path: Path) -> None:
    """The mailbox id is imap://user@host:port/FOLDER and contains no password."""
    (mb,) = _load(
        tmp_path, {"mailboxes": [_mailbox(port=1993, folder="Bounces", username="ops")]}
    ).mailboxes
    assert mb.mailbox_id == "imap://ops@imap.example.com:1993/Bounces"
    assert SECRET not in mb.mailbox_id


# --- environment overrides ------------------------------------------------------------------


def test_env_overrides_yaml_scalar(tmp_path: Path) -> None:
    """BOUNCE_STREAM__KAFKA__BOOTSTRAP_SERVERS replaces the YAML value."""
    settings = _load(
        tmp_path,
        {"kafka": {"bootstrap_servers": "from-yaml:9092"}},
        {"BOUNCE_STREAM__KAFKA__BOOTSTRAP_SERVERS": "from-env:9093"},
    )
    assert settings.kafka.bootstrap_servers == "from-env:9093"


def test_env_override_creates_missing_section() -> None:
    """An override may name a section the file does not have at all."""
    settings = load_settings(None, {"BOUNCE_STREAM__METRICS__PORT": "9999"})
    assert settings.metrics.port == 9999


def test_env_override_by_list_index(tmp_path: Path) -> None:
    """BOUNCE_STREAM__MAILBOXES__0__PASSWORD sets the password of the first mailbox only."""
    data = {"mailboxes": [_mailbox(name="a", password=None), _mailbox(name="b", host="other")]}
    settings = _load(tmp_path, data, {"BOUNCE_STREAM__MAILBOXES__0__PASSWORD": "from-env"})
    assert settings.mailboxes[0].secret == "from-env"
    assert settings.mailboxes[1].secret == SECRET


def test_env_override_appending_index(tmp_path: Path) -> None:
    """An index equal to the list length appends a new item built from the variables."""
    env = {
        "BOUNCE_STREAM__MAILBOXES__1__NAME": "second",
        "BOUNCE_STREAM__MAILBOXES__1__HOST": "imap2.example.com",
        "BOUNCE_STREAM__MAILBOXES__1__USERNAME": "u2",
        "BOUNCE_STREAM__MAILBOXES__1__PASSWORD": "pw2",
    }
    settings = _load(tmp_path, {"mailboxes": [_mailbox()]}, env)
    assert [mb.name for mb in settings.mailboxes] == ["main", "second"]
    assert settings.mailboxes[1].host == "imap2.example.com"
    assert settings.mailboxes[1].secret == "pw2"


def test_env_mailboxes_without_any_file() -> None:
    """A whole mailbox can be configured from the environment alone, starting at index 0."""
    env = {
        "BOUNCE_STREAM__MAILBOXES__0__NAME": "envbox",
        "BOUNCE_STREAM__MAILBOXES__0__HOST": "imap.example.com",
        "BOUNCE_STREAM__MAILBOXES__0__USERNAME": "u",
        "BOUNCE_STREAM__MAILBOXES__0__PASSWORD": "p",
        "BOUNCE_STREAM__MAILBOXES__0__PORT": "143",
    }
    (mb,) = load_settings(None, env).mailboxes
    assert (mb.name, mb.port, mb.secret) == ("envbox", 143, "p")


def test_env_mailboxes_with_two_digit_indexes() -> None:
    """Eleven mailboxes defined only in the environment (indexes 0..10) all load."""
    env: dict[str, str] = {}
    for i in range(11):
        env[f"BOUNCE_STREAM__MAILBOXES__{i}__NAME"] = f"mb{i}"
        env[f"BOUNCE_STREAM__MAILBOXES__{i}__HOST"] = f"imap{i}.example.com"
        env[f"BOUNCE_STREAM__MAILBOXES__{i}__USERNAME"] = "u"
        env[f"BOUNCE_STREAM__MAILBOXES__{i}__PASSWORD"] = "p"
    settings = load_settings(None, env)
    assert [mb.name for mb in settings.mailboxes] == [f"mb{i}" for i in range(11)]


def test_env_index_beyond_append_is_rejected(tmp_path: Path) -> None:
    """An index past the end of the list (a gap) is a ConfigError naming the variable."""
    message = _config_error(
        tmp_path, {"mailboxes": [_mailbox()]}, {"BOUNCE_STREAM__MAILBOXES__5__PASSWORD": "x"}
    )
    assert "BOUNCE_STREAM__MAILBOXES__5__PASSWORD" in message
    assert "'5'" in message


def test_env_non_numeric_index_is_rejected(tmp_path: Path) -> None:
    """A non-numeric part where a list index is expected is a ConfigError."""
    message = _config_error(
        tmp_path, {"mailboxes": [_mailbox()]}, {"BOUNCE_STREAM__MAILBOXES__FIRST__HOST": "x"}
    )
    assert "BOUNCE_STREAM__MAILBOXES__FIRST__HOST" in message


def test_env_cannot_descend_into_scalar(tmp_path: Path) -> None:
    """Overriding below a key that holds a scalar is a ConfigError naming that key."""
    message = _config_error(
        tmp_path, {"shutdown_grace_seconds": 5}, {"BOUNCE_STREAM__SHUTDOWN_GRACE_SECONDS__X": "1"}
    )
    assert "shutdown_grace_seconds is not a section" in message


def test_unrelated_environment_is_ignored(tmp_path: Path) -> None:
    """Variables without the BOUNCE_STREAM__ prefix (even BOUNCE_STREAM_X) change nothing."""
    settings = _load(
        tmp_path,
        {"metrics": {"port": 9200}},
        {"BOUNCE_STREAM_METRICS__PORT": "1", "METRICS__PORT": "2", "PATH": "/bin"},
    )
    assert settings.metrics.port == 9200


def test_env_value_is_validated_with_key_path() -> None:
    """An invalid value from the environment is reported with its dotted key path."""
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load_settings(None, {"BOUNCE_STREAM__METRICS__PORT": "not-a-port"})


# --- secrets --------------------------------------------------------------------------------


def test_env_password_conflicts_with_yaml_password_file(tmp_path: Path) -> None:
    """An env password on a mailbox that already has password_file is refused, not merged."""
    secret_file = tmp_path / "imap.pw"
    secret_file.write_text("from-file\n", encoding="utf-8")
    data = {"mailboxes": [_mailbox(password=None, password_file=str(secret_file))]}
    message = _config_error(tmp_path, data, {"BOUNCE_STREAM__MAILBOXES__0__PASSWORD": SECRET})
    assert "give only one of" in message
    assert SECRET not in message


def test_password_file_trailing_newline_stripped(tmp_path: Path) -> None:
    """password_file is read and its trailing newline dropped (inner spaces kept)."""
    secret_file = tmp_path / "imap.pw"
    secret_file.write_text("pass word\n", encoding="utf-8")
    (mb,) = _load(
        tmp_path, {"mailboxes": [_mailbox(password=None, password_file=str(secret_file))]}
    ).mailboxes
    assert mb.secret == "pass word"


def test_password_file_crlf_stripped(tmp_path: Path) -> None:
    """A Windows-style CRLF line end in password_file is not part of the password."""
    secret_file = tmp_path / "imap.pw"
    secret_file.write_bytes(b"pw-crlf\r\n")
    (mb,) = _load(
        tmp_path, {"mailboxes": [_mailbox(password=None, password_file=str(secret_file))]}
    ).mailboxes
    assert mb.secret == "pw-crlf"


def test_password_file_unreadable(tmp_path: Path) -> None:
    """A missing password_file is a ConfigError naming the key path and password_file."""
    message = _config_error(
        tmp_path,
        {"mailboxes": [_mailbox(password=None, password_file=str(tmp_path / "absent"))]},
    )
    assert "mailboxes.0" in message
    assert "password_file cannot be read" in message


def test_password_file_not_utf8_names_the_key_not_the_content(tmp_path: Path) -> None:
    """A password_file that is not UTF-8 is a ConfigError naming the key, without its bytes."""
    secret_file = tmp_path / "imap.pw"
    secret_file.write_bytes(SECRET.encode() + b"\xff\xfe-tail\n")
    message = _config_error(
        tmp_path, {"mailboxes": [_mailbox(password=None, password_file=str(secret_file))]}
    )
    assert "mailboxes.0: password_file is not UTF-8 text" in message
    assert SECRET not in message
    assert "0xff" not in message and "position" not in message


def test_sasl_password_file_not_utf8_names_its_key(tmp_path: Path) -> None:
    """The non-UTF-8 error names sasl_password_file for the Kafka SASL secret."""
    secret_file = tmp_path / "sasl.pw"
    secret_file.write_bytes(b"\xc3\x28")
    message = _config_error(tmp_path, {"kafka": {"sasl_password_file": str(secret_file)}})
    assert "kafka: sasl_password_file is not UTF-8 text" in message


@pytest.mark.parametrize("value", [0, 0.5, -1])
def test_fenced_backoff_below_one_second_rejected(tmp_path: Path, value: float) -> None:
    """kafka.fenced_backoff_seconds under 1 s is refused (it paces checkpoint reads)."""
    message = _config_error(tmp_path, {"kafka": {"fenced_backoff_seconds": value}})
    assert "kafka.fenced_backoff_seconds" in message


def test_transaction_deadline_default_and_minimum(tmp_path: Path) -> None:
    """kafka.transaction_deadline_seconds defaults to 30 s and refuses values under 1 s."""
    assert _load(tmp_path, {}).kafka.transaction_deadline_seconds == 30.0
    message = _config_error(tmp_path, {"kafka": {"transaction_deadline_seconds": 0}})
    assert "kafka.transaction_deadline_seconds" in message


def test_password_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """password_env names an environment variable that holds the password."""
    monkeypatch.setenv("BS_TEST_IMAP_PW", "pw-from-named-var")
    (mb,) = _load(
        tmp_path, {"mailboxes": [_mailbox(password=None, password_env="BS_TEST_IMAP_PW")]}
    ).mailboxes
    assert mb.secret == "pw-from-named-var"


def test_password_env_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A password_env naming an unset variable is a ConfigError naming that variable."""
    monkeypatch.delenv("BS_TEST_UNSET_PW", raising=False)
    message = _config_error(
        tmp_path, {"mailboxes": [_mailbox(password=None, password_env="BS_TEST_UNSET_PW")]}
    )
    assert "BS_TEST_UNSET_PW" in message
    assert "not set" in message


def test_give_only_one_password_source(tmp_path: Path) -> None:
    """password together with password_file is rejected, and the secret is not echoed."""
    secret_file = tmp_path / "imap.pw"
    secret_file.write_text("other\n", encoding="utf-8")
    message = _config_error(tmp_path, {"mailboxes": [_mailbox(password_file=str(secret_file))]})
    assert "give only one of password, password_file, password_env" in message
    assert "mailboxes.0" in message
    assert SECRET not in message


def test_missing_password(tmp_path: Path) -> None:
    """A mailbox without any password source is a ConfigError saying password is required."""
    message = _config_error(tmp_path, {"mailboxes": [_mailbox(password=None)]})
    assert "mailboxes.0" in message
    assert "password is required" in message


def test_settings_repr_hides_secrets(tmp_path: Path) -> None:
    """repr/str of loaded settings never contain the IMAP, SASL or registry passwords."""
    data = {
        "mailboxes": [_mailbox()],
        "kafka": {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "PLAIN",
            "sasl_username": "kafka-user",
            "sasl_password": SECRET + "-kafka",
        },
        "schema_registry": {
            "url": "https://registry.example.com",
            "username": "reg",
            "password": SECRET + "-registry",
        },
    }
    settings = _load(tmp_path, data)
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == SECRET + "-kafka"
    for text in (repr(settings), str(settings), repr(settings.mailboxes[0])):
        assert SECRET not in text


@pytest.mark.parametrize(
    ("mailbox_overrides", "expected_key"),
    [
        ({"port": "not-a-number"}, "mailboxes.0.port"),
        ({"port": 70000}, "mailboxes.0.port"),
        ({"tls": "perhaps"}, "mailboxes.0.tls"),
        ({"housekeeping": "shred"}, "mailboxes.0.housekeeping"),
        ({"name": "bad name!"}, "mailboxes.0.name"),
        ({"passwrod": "typo"}, "mailboxes.0.passwrod"),
        ({"password_file": "/nonexistent/bounce-stream/pw"}, "mailboxes.0"),
    ],
)
def test_broken_config_never_leaks_secret(
    tmp_path: Path, mailbox_overrides: dict[str, Any], expected_key: str
) -> None:
    """Whatever is broken, the error names the key and never contains the password."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, {"mailboxes": [_mailbox(**mailbox_overrides)]})
    message = str(info.value)
    assert expected_key in message
    assert SECRET not in message
    assert SECRET not in repr(info.value)
    assert SECRET not in "".join(traceback.format_exception(info.value))


def test_secret_from_env_override_not_leaked_on_error(tmp_path: Path) -> None:
    """A password given by env override does not show up when another key is invalid."""
    message = _config_error(
        tmp_path,
        {"mailboxes": [_mailbox(password=None, port="x")]},
        {"BOUNCE_STREAM__MAILBOXES__0__PASSWORD": SECRET},
    )
    assert "mailboxes.0.port" in message
    assert SECRET not in message


# --- validation -----------------------------------------------------------------------------


def test_unknown_top_level_key_rejected(tmp_path: Path) -> None:
    """An unknown key is rejected (extra=forbid) and named in the message."""
    message = _config_error(tmp_path, {"mailboxs": []})
    assert "mailboxs" in message
    assert "Extra inputs are not permitted" in message


def test_unknown_nested_key_rejected(tmp_path: Path) -> None:
    """An unknown key inside a section is named with its section path."""
    message = _config_error(tmp_path, {"kafka": {"bootstrap_server": "x:9092"}})
    assert "kafka.bootstrap_server" in message


def test_invalid_value_names_key_path(tmp_path: Path) -> None:
    """An invalid mailbox value is reported as mailboxes.<index>.<key>."""
    data = {"mailboxes": [_mailbox(), _mailbox(name="second", host="h2", port=0)]}
    message = _config_error(tmp_path, data)
    assert "mailboxes.1.port" in message
    assert "mailboxes.0" not in message


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    """Broken YAML is a ConfigError that gives the line of the problem, not the text."""
    text = "kafka:\n  bootstrap_servers: a\nmailboxes:\n  - name: [unclosed\n"
    message = _config_error(tmp_path, text)
    assert "not valid YAML" in message
    assert "at line " in message


def test_invalid_yaml_line_number_is_right(tmp_path: Path) -> None:
    """The line given for a YAML error is the 1-based line of the offending token."""
    text = "a: 1\nb: 2\nc: : :\n"
    with pytest.raises(ConfigError, match=r"at line 3\b"):
        _load(tmp_path, text)


def test_invalid_yaml_does_not_echo_secret(tmp_path: Path) -> None:
    """A YAML syntax error next to a password does not quote the password."""
    text = f"mailboxes:\n  - name: main\n    password: {SECRET}\n    host: [oops\n"
    message = _config_error(tmp_path, text)
    assert SECRET not in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_non_mapping_top_level(tmp_path: Path, text: str) -> None:
    """A YAML list or scalar at the top level is a ConfigError about the mapping."""
    message = _config_error(tmp_path, text)
    assert "mapping at the top level" in message


def test_missing_file(tmp_path: Path) -> None:
    """A config path that does not exist is a ConfigError naming the path."""
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match="cannot read config file") as info:
        load_settings(path, {})
    assert str(path) in str(info.value)


def test_duplicate_mailbox_names(tmp_path: Path) -> None:
    """Two mailboxes with the same name are rejected, naming the duplicate."""
    data = {"mailboxes": [_mailbox(), _mailbox(host="other.example.com")]}
    message = _config_error(tmp_path, data)
    assert "'main' is configured twice" in message


def test_duplicate_mailbox_identity(tmp_path: Path) -> None:
    """Two differently named entries for the same user/host/port/folder are rejected."""
    data = {"mailboxes": [_mailbox(name="a"), _mailbox(name="b")]}
    message = _config_error(tmp_path, data)
    assert "imap://bounces@imap.example.com:993/INBOX" in message
    assert "configured twice" in message


def test_same_account_different_folders_allowed(tmp_path: Path) -> None:
    """The same account on two folders is two mailboxes, not a duplicate."""
    data = {"mailboxes": [_mailbox(name="a"), _mailbox(name="b", folder="Junk")]}
    assert len(_load(tmp_path, data).mailboxes) == 2


def test_housekeeping_move_needs_move_to(tmp_path: Path) -> None:
    """housekeeping: move without move_to is rejected; with move_to it loads."""
    message = _config_error(tmp_path, {"mailboxes": [_mailbox(housekeeping="move")]})
    assert "move_to" in message
    (mb,) = _load(
        tmp_path, {"mailboxes": [_mailbox(housekeeping="move", move_to="Processed")]}
    ).mailboxes
    assert mb.move_to == "Processed"


@pytest.mark.parametrize(
    "kafka",
    [
        {"security_protocol": "SASL_SSL"},
        {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "u"},
        {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_password": "p"},
        {"security_protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": "p"},
    ],
)
def test_sasl_needs_credentials(tmp_path: Path, kafka: dict[str, str]) -> None:
    """A SASL security protocol needs mechanism, username and password together."""
    message = _config_error(tmp_path, {"kafka": kafka})
    assert "kafka" in message
    assert "SASL needs" in message


def test_sasl_complete_loads(tmp_path: Path) -> None:
    """SASL with mechanism, username and password loads."""
    kafka = {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "u",
        "sasl_password": "p",
    }
    assert _load(tmp_path, {"kafka": kafka}).kafka.sasl_username == "u"


def test_registry_url_with_credentials_rejected(tmp_path: Path) -> None:
    """A registry URL carrying user:password is rejected without echoing the password."""
    url = f"https://reg-user:{SECRET}@registry.example.com"
    message = _config_error(tmp_path, {"schema_registry": {"url": url}})
    assert "schema_registry.url" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "url",
    [
        f"HTTPS://reg-user:{SECRET}@registry.example.com",
        f"Http://{SECRET}@registry.example.com:8081/",
        f"https://:{SECRET}@registry.example.com",
    ],
)
def test_registry_url_with_credentials_rejected_whatever_the_scheme_case(
    tmp_path: Path, url: str
) -> None:
    """Credentials in a registry URL are refused however the scheme is spelt, never echoed."""
    message = _config_error(tmp_path, {"schema_registry": {"url": url}})
    assert "schema_registry.url" in message
    assert "username/password" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "url",
    [
        "git+https://registry.example.com",
        "ftp://registry.example.com",
        "registry.example.com:8081",
        "https://",
        "https:///subjects",
    ],
)
def test_registry_url_must_be_http_or_https_with_a_host(tmp_path: Path, url: str) -> None:
    """Only http:// and https:// URLs with a host pass validation (not git+https://, not bare)."""
    message = _config_error(tmp_path, {"schema_registry": {"url": url}})
    assert "schema_registry.url: must be an http:// or https:// URL with a host" in message


def test_registry_url_scheme_is_case_insensitive(tmp_path: Path) -> None:
    """An upper-case scheme without credentials is a valid registry URL."""
    url = "HTTPS://registry.example.com:8081"
    assert _load(tmp_path, {"schema_registry": {"url": url}}).schema_registry.url == url


@pytest.mark.parametrize("suffix", [f"?token={SECRET}", f"/?api_key={SECRET}", f"#{SECRET}"])
def test_registry_url_with_query_token_rejected_without_echo(tmp_path: Path, suffix: str) -> None:
    """A token in the registry URL's query or fragment is refused and never shown."""
    message = _config_error(
        tmp_path, {"schema_registry": {"url": "https://registry.example.com" + suffix}}
    )
    assert "schema_registry.url" in message
    assert "query string" in message
    assert SECRET not in message


def test_registry_url_without_credentials_loads(tmp_path: Path) -> None:
    """A plain registry URL with a path containing @ is not mistaken for credentials."""
    url = "https://registry.example.com/contexts/@team"
    assert _load(tmp_path, {"schema_registry": {"url": url}}).schema_registry.url == url


def test_settings_are_frozen(tmp_path: Path) -> None:
    """Loaded settings cannot be changed afterwards."""
    settings = _load(tmp_path, {"mailboxes": [_mailbox()]})
    with pytest.raises(ValueError, match="frozen"):
        settings.mailboxes[0].port = 1  # type: ignore[misc]


# --- mailbox TLS mode and not_bounce_folder --------------------------------------------------


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        (True, "implicit"),
        (False, "none"),
        ("implicit", "implicit"),
        ("starttls", "starttls"),
        ("STARTTLS", "starttls"),
        ("none", "none"),
    ],
)
def test_tls_mode_accepts_old_booleans_and_named_modes(
    tmp_path: Path, given: object, mode: str
) -> None:
    """tls: true/false keep their old meaning (implicit TLS / plain) next to the named modes."""
    (mb,) = _load(tmp_path, {"mailboxes": [_mailbox(tls=given)]}).mailboxes
    assert mb.tls == mode


@pytest.mark.parametrize(("value", "mode"), [("false", "none"), ("true", "implicit")])
def test_tls_boolean_from_the_environment_keeps_its_meaning(
    tmp_path: Path, value: str, mode: str
) -> None:
    """An environment override "true"/"false" (a string) reads as the boolean it spells."""
    env = {"BOUNCE_STREAM__MAILBOXES__0__TLS": value}
    (mb,) = _load(tmp_path, {"mailboxes": [_mailbox()]}, env).mailboxes
    assert mb.tls == mode


def test_not_bounce_folder_without_housekeeping_is_refused(tmp_path: Path) -> None:
    """not_bounce_folder does nothing without housekeeping, so setting it alone is an error."""
    error = _config_error(tmp_path, {"mailboxes": [_mailbox(not_bounce_folder="Humans")]})
    assert "not_bounce_folder applies only with housekeeping" in error


def test_not_bounce_folder_must_not_be_the_watched_folder(tmp_path: Path) -> None:
    """Moving non-bounces into the folder being read (or the bounce target) is refused."""
    mb = _mailbox(housekeeping="move", move_to="Done", not_bounce_folder="Done")
    assert "must differ" in _config_error(tmp_path, {"mailboxes": [mb]})
    mb = _mailbox(housekeeping="seen", not_bounce_folder="INBOX")
    assert "must differ" in _config_error(tmp_path, {"mailboxes": [mb]})
    (ok,) = _load(
        tmp_path, {"mailboxes": [_mailbox(housekeeping="delete", not_bounce_folder="Humans")]}
    ).mailboxes
    assert ok.not_bounce_folder == "Humans"
