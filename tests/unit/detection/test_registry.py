"""The detector registry's order is part of the contract: pin it."""

from __future__ import annotations

from bounce_stream.detection.registry import REGISTRY


def test_registry_order_is_pinned() -> None:
    """Detectors run most reliable first, generic text next to last, auto-replies last."""
    assert [detector.name for detector in REGISTRY] == [
        "arf",
        "amazonses",
        "fml",
        "opensmtpd",
        "courier",
        "chasquid",
        "haraka",
        "rfc3464",
        "dragonfly",
        "mailfoundry",
        "mfilter",
        "interscanmss",
        "x1",
        "x3",
        "x6",
        "zoho",
        "postfix",
        "verizon",
        "james",
        "imail",
        "mailmarshal",
        "mimecast",
        "qmail",
        "yahoo",
        "x2",
        "gmail",
        "googlegroups",
        "exchange2003",
        "domino",
        "notes",
        "gmx",
        "exim",
        "biglobe",
        "v5sendmail",
        "sendmail",
        "x4",
        "au",
        "generic",
        "rfc3834",
    ]


def test_every_detector_documents_its_quirks() -> None:
    """Each detector class carries a docstring (the MTA's quirks live there or in its module)."""
    for detector in REGISTRY:
        assert type(detector).__doc__, detector.name
