#!/usr/bin/env python3
"""Opens N keep-alive HTTP/1.1 clients to HOST:PORT, has each send one GET and read the whole answer,
then keeps them all open and idle.

Used by Benchmarks/run (python3 standard library only). Protocol on stdout/stdin:
  - prints one line `HELD {json}` once every client has its answer (or failed), then waits;
  - on a line on stdin (or EOF), sends a second GET on every connection that is still open, to show the
    connections survived being idle, prints `DONE {json}`, closes everything and exits.
Counts and timings only; it never prints a body.
"""

import argparse
import asyncio
import json
import resource
import sys
import time


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        raise ValueError("response without Content-Length or chunked framing")
    return status


async def one_request(reader, writer, request):
    writer.write(request)
    await writer.drain()
    return await read_response(reader)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--path", default="/v1/small")
    parser.add_argument("--parallel", type=int, default=200, help="connections being opened at once")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.count + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))

    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
               "User-Agent: mico-bench-idle\r\n\r\n").encode()
    gate = asyncio.Semaphore(args.parallel)
    conns = []
    errors = {}

    def note(kind):
        errors[kind] = errors.get(kind, 0) + 1

    async def open_one():
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(args.host, args.port, limit=1 << 20), args.timeout)
            except Exception as e:  # noqa: BLE001 - counted, reported
                note("connect:" + type(e).__name__)
                return
            try:
                status = await asyncio.wait_for(one_request(reader, writer, request), args.timeout)
            except Exception as e:  # noqa: BLE001
                note("request:" + type(e).__name__)
                writer.close()
                return
            if status != 200:
                note(f"status:{status}")
            conns.append((reader, writer))

    started = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(args.count)))
    held = {"requested": args.count, "open": len(conns), "errors": errors,
            "seconds_to_open": round(time.monotonic() - started, 3)}
    print("HELD " + json.dumps(held), flush=True)

    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    second_ok = 0
    second_errors = {}

    async def again(reader, writer):
        nonlocal second_ok
        async with gate:
            try:
                status = await asyncio.wait_for(one_request(reader, writer, request), args.timeout)
                if status == 200:
                    second_ok += 1
                else:
                    second_errors[f"status:{status}"] = second_errors.get(f"status:{status}", 0) + 1
            except Exception as e:  # noqa: BLE001
                kind = type(e).__name__
                second_errors[kind] = second_errors.get(kind, 0) + 1

    await asyncio.gather(*(again(r, w) for r, w in conns))
    for _, writer in conns:
        writer.close()
    print("DONE " + json.dumps({"second_request_ok": second_ok, "second_request_errors": second_errors}),
          flush=True)


if __name__ == "__main__":
    asyncio.run(main())
