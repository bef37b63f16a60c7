"""The README's configuration table stays in step with ServerConfig."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from crosswire_server.config import ServerConfig

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for field in dataclasses.fields(ServerConfig):
        flag = "--" + field.name.replace("_", "-")
        variable = "CROSSWIRE_" + field.name.upper()
        assert f"| `{flag}` | `{variable}` |" in README, f"README's configuration table lacks {flag}"
