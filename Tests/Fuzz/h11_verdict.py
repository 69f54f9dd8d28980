#!/usr/bin/env python3
"""Tells how Python's h11 (an independent HTTP/1.1 parser) reads each request; used by HTTPDifferentialTests.

Usage: h11_verdict.py CASES_FILE. CASES_FILE holds one request per line, hex-encoded: everything a client sent on
one connection. For each, one line is printed:
  accept CONSUMED BODY_HEX   the first request and its body were read; CONSUMED bytes of the input made them up
  reject REASON              h11 refused the bytes (RemoteProtocolError)
  incomplete                 h11 wants more bytes before it can finish the first request
Exits 3 when h11 cannot be imported.
"""
import sys

try:
    import h11
except ImportError:
    print("h11 is not installed: run `pip install h11` (.ci/run installs it)", file=sys.stderr)
    sys.exit(3)


def verdict(data: bytes) -> str:
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    body = bytearray()
    try:
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                return "incomplete"
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                consumed = len(data) - len(connection.trailing_data[0])
                return f"accept {consumed} {body.hex() or '-'}"
    except h11.RemoteProtocolError as error:
        return "reject " + " ".join(str(error).split())


if __name__ == "__main__":
    with open(sys.argv[1]) as cases:
        for line in cases:
            print(verdict(bytes.fromhex(line.strip())))
