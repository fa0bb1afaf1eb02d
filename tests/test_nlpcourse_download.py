"""Downloads into the cache, and the 10k bAbI files: the archive verified by its sha256, members cached
with their recorded sha256, test files checked against the shipped 1k ones.

Everything is served from a loopback HTTP server; nothing is fetched from the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import socket
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nlpcourse import babi, download
from nlpcourse.data import DataIntegrityError, data_dir

TRAIN_1 = "1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n"
TRAIN_3 = ("1 John picked up the apple.\n2 John went to the office.\n3 John went to the kitchen.\n"
           "4 John dropped the apple.\n5 Where was the apple before the kitchen? \toffice\t4 3 2\n")
TEST_20 = gzip.decompress((data_dir() / babi.task_file(20, "test")).read_bytes()).decode()
FILES = {babi.task_file_10k(1, "train"): TRAIN_1, babi.task_file_10k(3, "train"): TRAIN_3,
         babi.task_file_10k(20, "test"): TEST_20}


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves a folder; ``/short`` announces more bytes than it sends."""

    def do_GET(self) -> None:
        if self.path != "/short":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"only ten b")

    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackServer:
    """An HTTP server on 127.0.0.1 in a thread, serving ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LoopbackServer]:
    folder = tmp_path / "served"
    folder.mkdir()
    server = LoopbackServer(folder)
    yield server
    server.stop()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _write_archive(path: Path, files: dict[str, str]) -> str:
    """A ``.tar.gz`` with the layout of ``tasks_1-20_v1-2.tar.gz``; returns its sha256."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            content = text.encode()
            member = tarfile.TarInfo(f"tasks_1-20_v1-2/{name}")
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
    return _sha256(path.read_bytes())


def _serve_archive(served: LoopbackServer, tmp_path: Path, files: dict[str, str] = FILES) -> tuple[str, str]:
    """The URL and sha256 of a fake archive holding ``files``."""
    return f"{served.url}/tasks.tar.gz", _write_archive(tmp_path / "served" / "tasks.tar.gz", files)


def _files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("the network was used")


def test_a_good_download_is_verified_parsed_and_cached(served: LoopbackServer, tmp_path: Path, cache: Path) -> None:
    url, sha256 = _serve_archive(served, tmp_path)
    path = babi.fetch_task_10k(1, "train", url=url, cache=cache, sha256=sha256)
    assert path == cache / "babi" / "en-10k" / "qa1_single-supporting-fact_train.txt" and path.read_text() == TRAIN_1
    assert (path.parent / f"{path.name}.sha256").read_text() == f"{_sha256(TRAIN_1.encode())}  {path.name}\n"
    assert sorted(p.name for p in _files_under(cache)) == [path.name, f"{path.name}.sha256", "tasks_1-20_v1-2.tar.gz"]
    (question,) = babi.load_task_10k(3, "train", memory_size=None, url=url, cache=cache, sha256=sha256)
    assert question.answer == "office" and question.supporting == (3, 2, 1)


def test_later_loads_use_the_cache_without_the_network(served: LoopbackServer, tmp_path: Path, cache: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url, sha256 = _serve_archive(served, tmp_path)
    first = babi.fetch_task_10k(1, "train", url=url, cache=cache, sha256=sha256)
    served.stop()
    monkeypatch.setattr(download.urllib.request, "urlopen", _no_network)
    questions = babi.load_task_10k(1, "train", memory_size=None, url=url, cache=cache)
    assert questions == babi.parse_babi(TRAIN_1.splitlines())
    assert babi.fetch_task_10k(1, "train", url=url, cache=cache, sha256=sha256) == first
    test = babi.fetch_task_10k(20, "test", url=url, cache=cache, sha256=sha256)  # from the cached archive
    assert test.read_text() == TEST_20
    assert babi.load_task_10k(20, "test", url=url, cache=cache) == babi.load_task(20, "test")


def test_an_archive_with_another_sha256_is_rejected_and_removed(served: LoopbackServer, tmp_path: Path,
                                                                cache: Path) -> None:
    url, sha256 = _serve_archive(served, tmp_path)
    published = babi.BABI_ARCHIVE_SHA256
    with pytest.raises(DataIntegrityError, match=re.escape(url)) as raised:
        babi.load_task_10k(1, "train", url=url, cache=cache)
    assert re.findall(r"\b[0-9a-f]{64}\b", str(raised.value)) == [sha256, published]
    assert _files_under(cache) == []


def test_a_changed_cached_file_is_rejected_and_extracted_again(served: LoopbackServer, tmp_path: Path,
                                                               cache: Path) -> None:
    url, sha256 = _serve_archive(served, tmp_path)
    path = babi.fetch_task_10k(1, "train", url=url, cache=cache, sha256=sha256)
    changed = TRAIN_1 + "4 Mary went home.\n"
    path.write_text(changed)
    with pytest.raises(DataIntegrityError, match=f"{re.escape(str(path))} was changed") as raised:
        babi.fetch_task_10k(1, "train", url=url, cache=cache, sha256=sha256)
    assert re.findall(r"\b[0-9a-f]{64}\b", str(raised.value)) == [_sha256(changed.encode()), _sha256(TRAIN_1.encode())]
    assert not path.exists() and not (path.parent / f"{path.name}.sha256").exists()
    assert babi.fetch_task_10k(1, "train", url=url, cache=cache, sha256=sha256).read_text() == TRAIN_1


def test_a_test_file_that_differs_from_the_shipped_1k_one_is_rejected(served: LoopbackServer, tmp_path: Path,
                                                                      cache: Path) -> None:
    altered = TEST_20.replace("\tbedroom\t", "\tkitchen\t", 1)
    assert altered != TEST_20
    url, sha256 = _serve_archive(served, tmp_path, {**FILES, babi.task_file_10k(20, "test"): altered})
    with pytest.raises(DataIntegrityError, match=r"qa20_agents-motivations_test\.txt .*differs from the shipped "
                                                 r"data/babi/en/qa20_agents-motivations_test\.txt\.gz") as raised:
        babi.fetch_task_10k(20, "test", url=url, cache=cache, sha256=sha256)
    assert re.findall(r"\b[0-9a-f]{64}\b", str(raised.value)) == [_sha256(altered.encode()), _sha256(TEST_20.encode())]
    assert [path.name for path in _files_under(cache)] == ["tasks_1-20_v1-2.tar.gz"]


def test_a_member_missing_from_the_archive_is_an_integrity_error(served: LoopbackServer, tmp_path: Path,
                                                                 cache: Path) -> None:
    url, sha256 = _serve_archive(served, tmp_path, {babi.task_file_10k(1, "train"): TRAIN_1})
    with pytest.raises(DataIntegrityError, match="qa2_two-supporting-facts_train.txt"):
        babi.fetch_task_10k(2, "train", url=url, cache=cache, sha256=sha256)
    assert [path.name for path in _files_under(cache)] == ["tasks_1-20_v1-2.tar.gz"]


def test_a_missing_archive_is_a_download_error_naming_the_url(served: LoopbackServer, cache: Path) -> None:
    url = f"{served.url}/no-such-archive.tar.gz"
    with pytest.raises(download.DownloadError, match=f"{re.escape(url)}: HTTP 404"):
        babi.load_task_10k(1, "train", url=url, cache=cache)
    assert _files_under(cache) == []


def test_a_refused_connection_is_a_download_error_naming_the_url(cache: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/archive.tar.gz"
    with pytest.raises(download.DownloadError, match=f"{re.escape(url)}: .*[Rr]efused"):
        babi.load_task_10k(1, "train", url=url, cache=cache)
    assert _files_under(cache) == []


def test_a_wrong_task_or_split_is_refused_before_any_download(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download.urllib.request, "urlopen", _no_network)
    with pytest.raises(ValueError, match="1 to 20"):
        babi.load_task_10k(21, cache=cache)
    with pytest.raises(ValueError, match="split"):
        babi.fetch_task_10k(1, "valid", cache=cache)
    assert not cache.exists()


def test_the_published_archive_is_described_in_the_provenance() -> None:
    provenance = (data_dir() / "babi" / "PROVENANCE.md").read_text(encoding="utf-8")
    assert babi.BABI_ARCHIVE_SHA256 in provenance and f"{babi.BABI_ARCHIVE_BYTES:,}" in provenance
    assert babi.BABI_ARCHIVE_URL in provenance and all(mirror in provenance for mirror in babi.BABI_ARCHIVE_MIRRORS)


def test_a_short_response_leaves_no_file(served: LoopbackServer, tmp_path: Path) -> None:
    destination = tmp_path / "out" / "short.bin"
    with pytest.raises(download.DownloadError, match="received 10 of 100 bytes|IncompleteRead"):
        download.fetch(f"{served.url}/short", destination, progress=False)
    assert _files_under(destination.parent) == []


def test_fetch_writes_the_served_bytes(served: LoopbackServer, tmp_path: Path) -> None:
    content = bytes(range(256)) * 1000
    (tmp_path / "served" / "blob.bin").write_bytes(content)
    destination = download.fetch(f"{served.url}/blob.bin", str(tmp_path / "a" / "b" / "blob.bin"), progress=False)
    assert destination == tmp_path / "a" / "b" / "blob.bin" and destination.read_bytes() == content


def test_the_cache_folder_follows_nlpcourse_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLPCOURSE_CACHE", str(tmp_path))
    assert download.cache_dir() == tmp_path
    monkeypatch.delenv("NLPCOURSE_CACHE")
    assert download.cache_dir() == Path.home() / ".cache" / "nlpcourse"
