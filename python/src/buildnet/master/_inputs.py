"""Expands a target's declared inputs into files, as the Java ``InputResolver`` does (the list is
part of the cache key, so the rules must match exactly; docs/CACHE-KEY.md)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from buildnet.master._workspace import (
    STATE_DIR,
    WorkspaceError,
    contains,
    is_glob,
    literal_base,
    utf16,
)

if TYPE_CHECKING:
    from buildnet.master._workspace import Target


def compile_glob(pattern: str) -> re.Pattern[str]:
    """BuildNet's glob syntax (docs/WORKSPACE.md) as a regex over the whole relative path."""
    segments = pattern.split("/")
    out: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            out.append("[^/]+(?:/[^/]+)*" if last else "(?:[^/]+/)*")
            continue
        depth = 0
        j = 0
        while j < len(segment):
            c = segment[j]
            if c == "*":
                out.append("[^/]*")
                while j + 1 < len(segment) and segment[j + 1] == "*":
                    j += 1
            elif c == "?":
                out.append("[^/]")
            elif c == "{":
                depth += 1
                out.append("(?:")
            elif c == "}":
                if depth == 0:
                    raise ValueError("has a '}' without a matching '{'")
                depth -= 1
                out.append(")")
            elif c == ",":
                out.append("|" if depth > 0 else ",")
            else:
                out.append(re.escape(c))
            j += 1
        if depth != 0:
            raise ValueError("has a '{' without a matching '}' (alternatives cannot contain '/')")
        if not last:
            out.append("/")
    return re.compile("".join(out), re.DOTALL)


class MissingInputError(WorkspaceError):
    """A plain input does not exist, or leads outside the workspace."""


class InputResolver:
    """One build's view of the workspace: each directory is listed at most once. Blocking (file
    system calls): run it off the event loop."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.real_root = self.root.resolve(strict=True)
        self._listings: dict[str, list[str]] = {}

    def resolve(self, target: Target) -> list[str]:
        """The files ``target``'s inputs name, in Java ``String`` order, without duplicates."""
        included: set[str] = set()
        exclusions: list[str] = []
        for declared in target.inputs:
            if declared.startswith("!"):
                exclusions.append(declared[1:])
            elif is_glob(declared):
                pattern = compile_glob(declared)
                included.update(
                    f for f in self._files_under(literal_base(declared)) if pattern.fullmatch(f)
                )
            else:
                included.update(self._plain(target, declared))
        if not included:
            return []
        excluded_paths = list(target.outputs)
        excluded_globs: list[re.Pattern[str]] = []
        for e in exclusions:
            if is_glob(e):
                excluded_globs.append(compile_glob(e))
            else:
                excluded_paths.append(e)
        result = [f for f in included if not _excluded(f, excluded_paths, excluded_globs)]
        result.sort(key=utf16)
        return result

    def _plain(self, target: Target, declared: str) -> list[str]:
        path = self.root if declared == "." else self.root / declared
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise MissingInputError(
                f"target '{target.name}': input '{declared}' does not exist (looked for {path})"
            ) from None
        except OSError as e:
            raise WorkspaceError(
                f"target '{target.name}': cannot read input '{declared}': {e}"
            ) from None
        if stat.S_ISDIR(st.st_mode):
            real = self._real(path)
            if real is None or real != self._real_inside(declared):
                raise MissingInputError(
                    f"target '{target.name}': input '{declared}' is reached through a symbolic "
                    "link to a directory; list the directory itself"
                )
            return self._files_under(declared)
        if stat.S_ISREG(st.st_mode):
            parent = declared.rpartition("/")[0] or "."
            if self._real(self.root if parent == "." else self.root / parent) is not None:
                return [declared]
            raise MissingInputError(
                f"target '{target.name}': input '{declared}' is reached through a symbolic link "
                f"that leads outside the workspace {self.real_root}"
            )
        real = self._real(path)
        if real is None:
            raise MissingInputError(
                f"target '{target.name}': input '{declared}' is a symbolic link that leads "
                f"nowhere or outside the workspace {self.real_root}"
            )
        if real.is_dir():
            raise MissingInputError(
                f"target '{target.name}': input '{declared}' is a symbolic link to a directory "
                f"({real}); list the directory itself"
            )
        return [declared]

    def _real_inside(self, relative: str) -> Path:
        return self.real_root if relative == "." else self.real_root / relative

    def _real(self, path: Path) -> Path | None:
        """The real path if it exists inside the workspace, else None."""
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if real == self.real_root or self.real_root in real.parents:
            return real
        return None

    def _files_under(self, directory: str) -> list[str]:
        cached = self._listings.get(directory)
        if cached is None:
            cached = self._walk(directory)
            self._listings[directory] = cached
        return cached

    def _walk(self, directory: str) -> list[str]:
        start = self.root if directory == "." else self.root / directory
        try:
            if not stat.S_ISDIR(os.lstat(start).st_mode):
                return []
        except OSError:
            return []
        real = self._real(start)
        if real is None or real != self._real_inside(directory):
            return []  # reached through a link to a directory: links are never followed
        files: list[str] = []
        prefix = "" if directory == "." else directory + "/"
        stack = [(start, prefix)]
        while stack:
            d, rel = stack.pop()
            try:
                entries = list(os.scandir(d))
            except FileNotFoundError:
                continue
            except OSError as e:
                raise WorkspaceError(f"cannot list input directory '{directory}': {e}") from None
            for entry in entries:
                name = rel + entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if name == STATE_DIR:
                            continue
                        stack.append((Path(entry.path), name + "/"))
                    elif entry.is_file(follow_symlinks=False):
                        files.append(name)
                    elif entry.is_symlink():
                        target = self._real(Path(entry.path))
                        if target is not None and target.is_file():
                            files.append(name)
                except FileNotFoundError:
                    continue
        files.sort(key=utf16)
        return files


def _excluded(file: str, paths: list[str], globs: list[re.Pattern[str]]) -> bool:
    if any(contains(p, file) for p in paths):
        return True
    if not globs:
        return False
    parts = file.split("/")
    for n in range(1, len(parts) + 1):
        prefix = "/".join(parts[:n])
        if any(g.fullmatch(prefix) for g in globs):
            return True
    return False
