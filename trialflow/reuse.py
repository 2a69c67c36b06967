"""Stages that skip work already done: fingerprints of what a stage reads, and the
previous package's outputs taken over when nothing it reads has changed.

A stage's fingerprint is the SHA-256 of everything that decides its outputs:

* the code (every ``.py`` file of trialflow and its layers, and the standards shipped
  with it: :func:`code_hash`), so a new trialflow never reuses an old result;
* the stage's options (subjects, seed, ...);
* the name and SHA-256 of every file it reads: its input data (the previous stage's
  outputs, or the study's input datasets) and its spec files (only those it reads: an
  edit to a TLF spec changes the fingerprint of the TLF stage alone).

Names are taken relative to the build (or study) folder, so the same inputs give the
same fingerprint wherever the run builds.

After a run, ``reports/stages.json`` in the package records each stage's fingerprint,
rows, findings and outputs (with their SHA-256). The next run compares: a stage whose
fingerprint is unchanged, and whose recorded outputs are all in the package with their
recorded hashes, is not run; its outputs are hard-linked (or copied) into the staging
folder, so the package is still built whole, atomically, and bit for bit as a run from
scratch would build it.

Example
-------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> (folder / "a.yaml").write_text("x: 1")
4
>>> fingerprint("tlf", [folder / "a.yaml"], {}, relative_to=folder) == fingerprint(
...     "tlf", [folder / "a.yaml"], {}, relative_to=folder)
True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from trialflow import PACKAGE, ROOT
from trialflow.findings import Finding

__all__ = ["STATE", "code_hash", "files_of", "fingerprint", "hashing_once", "load_state",
           "reuse_outputs", "sha256_of", "state_of"]

#: The record of a run's stages, in the package.
STATE = Path("reports") / "stages.json"
_LAYERS = ("trialflow", "crf", "sdtm", "adam", "tlf")


#: While a run lasts (:func:`hashing_once`): each file's SHA-256 by path, size and
#: modification time.
_KEPT: dict[tuple[str, int, int], str] | None = None


@contextmanager
def hashing_once() -> Iterator[None]:
    """Within this block each file is hashed once: a run's stages fingerprint the
    folders they read (the previous stage's outputs), record their outputs, and write
    all of them into run.log again, which read every dataset six times over (a
    100-times study's are gigabytes). A file whose size or modification time has
    changed since is hashed anew."""
    global _KEPT
    outer, _KEPT = _KEPT, _KEPT if _KEPT is not None else {}
    try:
        yield
    finally:
        _KEPT = outer


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks (files may be large); within
    :func:`hashing_once`, once per file."""
    key = None
    if _KEPT is not None:
        info = os.stat(path)
        key = (os.path.abspath(path), info.st_size, info.st_mtime_ns)
        if key in _KEPT:
            return _KEPT[key]
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if key is not None:
        _KEPT[key] = digest.hexdigest()  # type: ignore[index]
    return digest.hexdigest()


def files_of(paths: Iterable[Path]) -> list[Path]:
    """The files of ``paths``: a folder stands for its files, sorted (hidden ones and
    ``__pycache__`` left out); a path that does not exist stands for nothing."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and not any(
                part.startswith(".") or part == "__pycache__"
                for part in f.relative_to(p).parts))
        elif p.is_file():
            found.append(p)
    return found


@lru_cache(maxsize=1)
def code_hash() -> str:
    """One hash of the code and shipped standards that build a package: the ``.py``
    files of trialflow and its layers and the files under ``trialflow/standards``."""
    digest = hashlib.sha256()
    base = PACKAGE.parent
    for layer in _LAYERS:
        folder = base / layer
        for f in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            if "__pycache__" not in f.parts:
                digest.update(str(f.relative_to(base)).encode())
                digest.update(sha256_of(f).encode())
    for f in files_of([PACKAGE / "standards"]):
        digest.update(str(f.relative_to(base)).encode())
        digest.update(sha256_of(f).encode())
    return digest.hexdigest()


def _name(path: Path, relative_to: Sequence[Path]) -> str:
    for root in relative_to:
        try:
            return str(Path(path).resolve().relative_to(Path(root).resolve()))
        except ValueError:
            continue
    return str(Path(path).resolve())


def fingerprint(stage: str, reads: Iterable[Path], options: Mapping[str, Any],
                relative_to: Path | Sequence[Path] = ()) -> str:
    """The fingerprint of a stage that reads the files of ``reads`` with ``options``.

    Parameters
    ----------
    stage : str
    reads : iterable of Path
        Input data and spec files or folders.
    options : mapping
        What else decides the outputs (JSON-serialisable).
    relative_to : Path or sequence of Path
        Folders whose files are named relative to them (the build and the study).
    """
    roots = [relative_to] if isinstance(relative_to, (str, Path)) else list(relative_to)
    digest = hashlib.sha256()
    digest.update(json.dumps({"stage": stage, "code": code_hash(), "options": options},
                             sort_keys=True, default=str).encode())
    for f in files_of(reads):
        digest.update(f"\n{_name(f, roots)}\t{sha256_of(f)}".encode())
    return digest.hexdigest()


def load_state(package: Path) -> dict[str, Any]:
    """The previous run's record of its stages (empty when there is none or it cannot
    be read: then every stage runs)."""
    path = Path(package) / STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def state_of(fingerprint_: str, rows: int, findings: Sequence[Finding],
             outputs: Iterable[Path], root: Path) -> dict[str, Any]:
    """What the record keeps of one stage: fingerprint, rows, findings and outputs
    (named relative to the staging ``root``, with their SHA-256)."""
    return {"fingerprint": fingerprint_, "rows": rows,
            "findings": [asdict(f) for f in findings],
            "outputs": {str(Path(f).relative_to(root)): sha256_of(f)
                        for f in files_of(outputs)}}


def reuse_outputs(record: Mapping[str, Any], package: Path, root: Path) -> list[Path] | None:
    """Take a stage's recorded outputs over from the previous ``package`` into the
    staging ``root``: hard links (copies across file systems). None, and nothing taken,
    when one is missing or changed (the stage then runs)."""
    outputs = record.get("outputs")
    if not isinstance(outputs, dict):
        return None
    for name, digest in outputs.items():
        old = Path(package) / name
        if not old.is_file() or sha256_of(old) != digest:
            return None
    taken = []
    for name in outputs:
        old, new = Path(package) / name, Path(root) / name
        new.parent.mkdir(parents=True, exist_ok=True)
        if new.exists():
            new.unlink()
        try:
            os.link(old, new)
        except OSError:
            shutil.copy2(old, new)
        taken.append(new)
    return taken


def findings_of(record: Mapping[str, Any]) -> list[Finding]:
    """The findings a reused stage had when it ran."""
    return [Finding(**f) for f in record.get("findings", [])]


def git_state() -> str:
    """The code's git commit, and whether the tree has changes; or why there is none."""
    import subprocess

    if not (ROOT / ".git").exists():
        return "not a git checkout (an installed package)"
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    if head.returncode != 0:
        return "unknown (git rev-parse failed)"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip()
                                  else " (clean)")
