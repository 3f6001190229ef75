"""One version source: bounce_stream.__version__, repeated by the image and the chart."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from bounce_stream import __version__

REPO = Path(__file__).resolve().parents[2]


def test_package_version_is_read_from_the_module() -> None:
    """pyproject.toml takes the version from bounce_stream/__init__.py, never its own copy."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "bounce_stream/__init__.py"


def test_image_version_label_defaults_to_the_package_version() -> None:
    """The Dockerfile's VERSION build argument (the version label) defaults to __version__."""
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    defaults = re.findall(r"^ARG VERSION=(\S+)$", dockerfile, flags=re.M)
    assert defaults == [__version__]


def test_chart_app_version_is_the_package_version() -> None:
    """Chart.yaml's appVersion (the default image tag) is __version__; values set no tag."""
    chart_dir = REPO / "helm" / "bounce-stream"
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == __version__
    values = yaml.safe_load((chart_dir / "values.yaml").read_text(encoding="utf-8"))
    assert not values["image"].get("tag")
