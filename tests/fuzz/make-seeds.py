#!/usr/bin/env python3
"""make-seeds.py MOCKGW CAPTURE... - writes the seed corpora of the session
fuzzers from real traffic: each capture is decoded with `mockgw inspect
--json`, and its client-to-server messages become fuzz_gateway seeds, its
server-to-client messages fuzz_client seeds, in the fuzz_bursts.h format
(mode byte, one frame per line, an empty line between the packets'
bursts). Per capture: the whole conversation behind a valid greeting, the
same as raw bytes, and one seed per message kind behind a ready session.
Run from the repository root; deterministic."""
import json
import os
import struct
import subprocess
import sys

FRAMED, HELLO, READY = 1, 2, 4
HERE = os.path.dirname(os.path.abspath(__file__))


def frame(fields):
    payload = b"".join(f.encode() + b"\0" for f in fields)
    return struct.pack(">I", len(payload)) + payload


def conversation(mockgw, path):
    out = subprocess.run([mockgw, "inspect", "--json", path], check=True,
                         capture_output=True, text=True).stdout
    msgs = {"c>s": [], "s>c": []}
    for line in out.splitlines():
        ev = json.loads(line)
        if ev.get("event") == "msg":
            msgs[ev["dir"]].append((ev["t_us"], ev["name"], ev["fields"]))
    return msgs


def bursts(msgs):
    """Lines of a framed seed: messages of one packet (same time) form a burst."""
    lines, last = [], None
    for t, _, fields in msgs:
        if last is not None and t != last:
            lines.append(b"")
        lines.append(b"".join(f.encode() + b"\0" for f in fields))
        last = t
    return b"\n".join(lines)


def write(kind, name, data):
    folder = os.path.join(HERE, "corpus", kind)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    mockgw, captures = sys.argv[1], sys.argv[2:]
    for path in captures:
        base = os.path.splitext(os.path.basename(path))[0]
        msgs = conversation(mockgw, path)
        for kind, d in (("gateway", "c>s"), ("client", "s>c")):
            if not msgs[d]:
                continue
            write(kind, base + "-conversation", bytes([FRAMED | HELLO]) + bursts(msgs[d]))
            raw = b"".join(frame(f) for _, _, f in msgs[d])
            if kind == "gateway":
                hello = b"API\0" + struct.pack(">I", 9) + b"v157..178"  # no NUL here
            else:
                hello = frame(["178", "20251210 14:25:00 UTC"])
            write(kind, base + "-raw", bytes([0]) + hello + raw)
            for _, name, fields in msgs[d]:
                one = bytes([FRAMED | HELLO | READY]) + b"".join(
                    f.encode() + b"\0" for f in fields)
                write(kind, "msg-" + name, one)


if __name__ == "__main__":
    main()
