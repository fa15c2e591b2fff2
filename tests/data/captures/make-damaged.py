#!/usr/bin/env python3
"""make-damaged.py - derives the damaged captures from stoqey-4002.pcap, the
same way every time (python3 standard library only). Run from anywhere:

    python3 tests/data/captures/make-damaged.py

  damaged-truncated.pcap  the file cut 10 bytes into the data of packet 12
  damaged-reordered.pcap  the server's 2nd and 3rd data segments swapped
  damaged-missing.pcap    the server's 3rd data segment (nextValidId) dropped
  damaged-mixed.pcap      an HTTP exchange on port 8080 and a UDP datagram
                          interleaved with the TWS conversation
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "stoqey-4002.pcap")
GLOBAL_HLEN = 24
RECORD_HLEN = 16
ETH_HLEN = 14
SERVER_PORT = 4002


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    header, records, pos = data[:GLOBAL_HLEN], [], GLOBAL_HLEN
    while pos < len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        end = pos + RECORD_HLEN + caplen
        records.append(data[pos:end])
        pos = end
    return header, records


def write_pcap(name, header, records):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(header)
        for r in records:
            f.write(r)


def tcp_of(record):
    """(sport, payload length) of an Ethernet/IPv4/TCP record."""
    ip = record[RECORD_HLEN + ETH_HLEN:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from(">H", ip, 2)[0]
    tcp = ip[ihl:]
    doff = (tcp[12] >> 4) * 4
    return struct.unpack_from(">H", tcp, 0)[0], total - ihl - doff


def server_data_indexes(records):
    out = []
    for i, r in enumerate(records):
        sport, plen = tcp_of(r)
        if sport == SERVER_PORT and plen > 0:
            out.append(i)
    return out


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(ts_us, proto, sport, dport, payload, seq=0, ack=0, flags=0x18):
    """A whole Ethernet/IPv4 record from 10.0.0.1 to 10.0.0.2 (or back)."""
    src, dst = (b"\x0a\0\0\x01", b"\x0a\0\0\x02") if sport > dport else \
               (b"\x0a\0\0\x02", b"\x0a\0\0\x01")
    if proto == 6:
        l4 = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    else:
        l4 = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
    l4 += payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack(">H", checksum(ip)) + ip[12:]
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4
    return struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, len(frame), len(frame)) + frame


def record_time(record):
    sec, usec = struct.unpack_from("<II", record, 0)
    return sec * 1000000 + usec


def http_flow(t0):
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    return [
        packet(t0 + 1, 6, 50000, 8080, b"", seq=1000, flags=0x02),
        packet(t0 + 2, 6, 8080, 50000, b"", seq=5000, ack=1001, flags=0x12),
        packet(t0 + 3, 6, 50000, 8080, req, seq=1001, ack=5001),
        packet(t0 + 4, 6, 8080, 50000, resp, seq=5001, ack=1001 + len(req)),
    ]


def main():
    header, records = read_pcap(SOURCE)
    data = b"".join(records)
    cut = sum(len(r) for r in records[:11]) + RECORD_HLEN + 10
    with open(os.path.join(HERE, "damaged-truncated.pcap"), "wb") as f:
        f.write(header + data[:cut])

    srv = server_data_indexes(records)
    reordered = list(records)
    reordered[srv[1]], reordered[srv[2]] = reordered[srv[2]], reordered[srv[1]]
    write_pcap("damaged-reordered.pcap", header, reordered)

    write_pcap("damaged-missing.pcap", header, records[:srv[2]] + records[srv[2] + 1:])

    t0 = record_time(records[3])
    mixed = records[:4] + http_flow(t0) + \
        [packet(t0 + 5, 17, 5353, 5353, b"\0" * 12)] + records[4:]
    write_pcap("damaged-mixed.pcap", header, mixed)


if __name__ == "__main__":
    main()
