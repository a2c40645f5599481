"""The secret-file rule of docs/PROTOCOL.md ("Secret files"), shared with the Java CLI and
``BuildNet.readSecret``: trailing CR and LF bytes are not part of the secret; nothing else is
trimmed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from buildnet import read_secret

if TYPE_CHECKING:
    from pathlib import Path


def test_trailing_newlines_are_dropped_and_nothing_else(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_bytes(b" secret\nwith a newline inside\r\n\n")
    assert read_secret(f) == b" secret\nwith a newline inside"


def test_a_file_without_a_newline_is_used_as_is(tmp_path: Path) -> None:
    f = tmp_path / "secret"
    f.write_bytes(b"\texactly these bytes \x00\xff")
    assert read_secret(f) == b"\texactly these bytes \x00\xff"
