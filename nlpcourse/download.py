"""Downloads for optional data that the course does not ship, kept in a cache folder.

A download goes to a temporary file next to its destination and is renamed into place only when it
is complete, so an interrupted or failed download never leaves a partial file under the final name.
Set ``NLPCOURSE_CACHE`` to keep the cache somewhere other than ``~/.cache/nlpcourse``.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tqdm.auto import tqdm

BLOCK_SIZE = 1 << 16


class DownloadError(RuntimeError):
    """A download failed; the message names the URL and the reason (an HTTP status, a refused connection...)."""


def cache_dir() -> Path:
    """The folder for downloaded data: ``NLPCOURSE_CACHE`` when set, otherwise ``~/.cache/nlpcourse``."""
    override = os.environ.get("NLPCOURSE_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "nlpcourse"


@contextmanager
def atomic_write(destination: Path) -> Iterator[BinaryIO]:
    """A binary file that becomes ``destination`` only if the ``with`` block ends without an error.

    The bytes go to a temporary file in the same folder, which ``os.replace`` then renames (atomic
    within one file system); on an error the temporary file is removed and ``destination`` is untouched.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part",
                                         delete=False)
    try:
        with handle:
            yield handle
        os.replace(handle.name, destination)
    finally:
        Path(handle.name).unlink(missing_ok=True)


def fetch(url: str, destination: Path | str, *, timeout: float = 60.0, progress: bool = True) -> Path:
    """Download ``url`` to ``destination`` (its folders are created) and return ``destination`` as a ``Path``.

    ``timeout`` is in seconds for connecting and for each read. ``progress`` shows a tqdm bar.

    Raises:
        DownloadError: naming the URL and the reason, e.g. ``HTTP 404 Not Found``, a refused
            connection, a time-out, or a response shorter than its ``Content-Length``.
    """
    destination = Path(destination)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_write(destination) as output:
            _copy_with_progress(response, output, url, destination.name, progress)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"could not download {url}: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise DownloadError(f"could not download {url}: {error.reason}") from error
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"could not download {url}: {error!r}") from error
    return destination


def _copy_with_progress(response: http.client.HTTPResponse, output: BinaryIO, url: str, label: str,
                        progress: bool) -> None:
    length = response.headers.get("Content-Length")
    expected = int(length) if length is not None else None
    received = 0
    with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not progress) as bar:
        for block in iter(lambda: response.read(BLOCK_SIZE), b""):
            output.write(block)
            received += len(block)
            bar.update(len(block))
    if expected is not None and received != expected:
        raise DownloadError(f"could not download {url}: received {received} of {expected} bytes")
