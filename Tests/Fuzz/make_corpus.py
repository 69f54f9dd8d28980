#!/usr/bin/env python3
"""Writes the seed corpus in Tests/Fuzz/corpus/ from the accepted and refused cases of the MicoHTTP tests.

Run it again after changing the lists below; libFuzzer mutates these seeds and never writes into this folder
(run.sh hands it a copy).
"""
import pathlib
import re
import shutil

HEAD = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

# Whole requests for the `request` target: accepted ones first, then one of each refusal kind.
REQUESTS = {
    "get": "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "leading-empty-lines": "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "content-length-body": "POST /v1/tts HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-Empty:\r\n\r\nhello",
    "te-tab-chunked": "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "chunk-extensions-trailers": HEAD + "5;name=value;flag\r\nhello\r\n6;q=\"a b\"\r\n world\r\n0\r\nX-T: t\r\nY: \r\n\r\n",
    "trailing-whitespace": "GET /q?a=1 HTTP/1.0\r\nConnection: keep-alive\r\nX-Spaces:  a  b \t\r\n\r\n",
    "pipelined": "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\nHost: a\r\n\r\n",
    "pipelined-after-chunked": HEAD + "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: [::1]:8642\r\n\r\n",
    "high-bytes": "GET /caf\xe9 HTTP/1.1\r\nHost: a\r\nX-Name: Jos\xe9\xff\r\n\r\n",
    "cl-te": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two-cl": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    "cl-list": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
    "cl-signed": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
    "cl-hex": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello",
    "cl-overflow": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
    "te-xchunked": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
    "te-chunked-gzip": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "te-quoted": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
    "te-two-fields": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te-http10": "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "space-before-colon": "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "obs-fold": "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    "bare-cr": "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
    "bare-lf": "GET / HTTP/1.1\nHost: a\r\n\r\n",
    "nul-in-value": "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    "bad-tchar": "GET / HTTP/1.1\r\nHost: a\r\nX(Y): b\r\n\r\n",
    "empty-name": "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n",
    "no-host": "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "two-hosts": "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
    "host-comma": "GET / HTTP/1.1\r\nHost: a,b\r\n\r\n",
    "http2": "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "h2-preface": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "two-digit-version": "GET / HTTP/1.10\r\nHost: a\r\n\r\n",
    "control-in-target": "GET /\x1b[0m HTTP/1.1\r\nHost: a\r\n\r\n",
    "chunk-size-padded": HEAD + " 5\r\nhello\r\n0\r\n\r\n",
    "chunk-data-no-crlf": HEAD + "5\r\nhelloX\r\n0\r\n\r\n",
    "long-extensions": HEAD + "".join("1;" + "e" * 60 + "\r\nx\r\n" for _ in range(80)) + "0\r\n\r\n",
}

# Chunked bodies (and what follows them) for the `chunked` target.
BODIES = {
    "simple": "5\r\nhello\r\n0\r\n\r\n",
    "extensions-trailers": "5\r\nhello\r\n6;name=value;flag\r\n world\r\n0\r\nX-Trailer: t\r\nY: \r\n\r\n",
    "next-request-after": "1\r\nx\r\n0\r\n\r\nGET /next HTTP/1.1\r\n",
    "sixteen-digits": "0000000000000001\r\nx\r\n0\r\n\r\n",
    "uppercase-hex": "A\r\n0123456789\r\n0\r\n\r\n",
    "empty-size": "\r\nhello\r\n0\r\n\r\n",
    "signed-size": "+5\r\nhello\r\n0\r\n\r\n",
    "padded-size": " 5\r\nhello\r\n0\r\n\r\n",
    "space-before-extension": "5 ;a\r\nhello\r\n0\r\n\r\n",
    "hex-prefix": "0x5\r\nhello\r\n0\r\n\r\n",
    "seventeen-digits": "00000000000000005\r\nhello\r\n0\r\n\r\n",
    "overflow": "10000000000000000\r\n",
    "bare-lf-after-size": "5\nhello\r\n0\r\n\r\n",
    "bare-cr-after-size": "5\rhello\r\n0\r\n\r\n",
    "data-too-long": "5\r\nhelloX\r\n0\r\n\r\n",
    "lf-after-data": "5\r\nhello\n0\r\n\r\n",
    "nul-in-extension": "5;a\x00\r\nhello\r\n0\r\n\r\n",
    "bare-lf-ends-trailers": "0\r\n\n",
    "folded-trailer": "0\r\nX: a\r\n b\r\n\r\n",
    "trailer-empty-name": "0\r\n: a\r\n\r\n",
    "long-extensions": "".join("1;" + "e" * 60 + "\r\nx\r\n" for _ in range(80)) + "0\r\n\r\n",
}


def write(folder: pathlib.Path, seeds: dict[str, str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, text in seeds.items():
        assert re.fullmatch(r"[a-z0-9-]+", name), name
        (folder / name).write_bytes(text.encode("latin-1"))


if __name__ == "__main__":
    here = pathlib.Path(__file__).resolve().parent
    write(here / "corpus" / "request", REQUESTS)
    write(here / "corpus" / "chunked", BODIES)
