"""Folders and files only the app's own user may open: the instance folder, database, secret key and spool.

Modes are set when the app makes a folder or file, whatever the umask; one that exists
keeps the mode it has, so an operator's choice (stricter or not) stands.
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> None:
    """Make a folder (and any missing parent) unless it exists; the folder itself only its owner may enter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=FOLDER_MODE)
    except FileExistsError:
        return
    os.chmod(path, FOLDER_MODE)


def private_file(path: Path) -> None:
    """Make an empty file only its owner may read and write, unless it exists."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)
