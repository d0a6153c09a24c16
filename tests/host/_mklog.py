#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write a mars transaction logfile for the log dump tests (tests/host/logdump.bats).

The layout is written here from docs/log-format.md with struct.pack, independently
of lib/mlog/mlog.c, so the tests also cross-check the encoder against the
document. The CRC32C comes from ISA-L through ctypes when libisal is there (fast
enough for files beyond the 8 MiB torn window), else from a table in Python.

    _mklog.py OUT [--seq N] [--host NAME] [--res NAME] [--data N] [--big N]
                  [--example] [--eof] [--flip-record K] [--lamport-back K] [--cut N]
                  [--zeros N] [--zero-file SIZE]

--example writes the file of the worked example (section 12) instead of --data
records: one 512-byte SYNC write of "mars" x 128 at 1 MiB.

Prints the file offset of every record, one per line, then "end <size>".
"""
import argparse
import ctypes
import ctypes.util
import os
import re
import struct
import sys

SALT = 0x8BADF00DDEADBEEF
LAMPORT0 = 1732600000000000000
UUID = bytes.fromhex("00112233445566778899aabbccddeeff")
T_DATA, T_EOF = 1, 6
F_SYNC, F_DRAINED = 1, 2


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = None
_ISAL = None
try:
    _ISAL = ctypes.CDLL(ctypes.util.find_library("isal") or "libisal.so.2")
    _ISAL.crc32_iscsi.restype = ctypes.c_uint
    _ISAL.crc32_iscsi.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
except OSError:
    _ISAL = None


def crc32c(data):
    """CRC32C with seed and final xor 0xFFFFFFFF (log-format.md section 3)."""
    global _TABLE
    if _ISAL is not None:
        return ~_ISAL.crc32_iscsi(bytes(data), len(data), 0xFFFFFFFF) & 0xFFFFFFFF
    if _TABLE is None:
        _TABLE = _crc_table()
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def file_header(seq, host, res, first_rec_seq, block_size):
    h = bytearray(192)
    struct.pack_into("<8sHHIQQQQII16s32s64s", h, 0, b"MARS-LOG", 1, 192, 0, SALT, seq,
                     LAMPORT0, first_rec_seq, 0, block_size, UUID, res.encode(),
                     host.encode())
    struct.pack_into("<I", h, 12, crc32c(h))
    return h


def record(rtype, flags, rec_seq, lamport, pos, length, payload):
    h = bytearray(struct.pack("<IHHHHIQQQII", 0x4345524D, 1, 48, rtype, flags, 0, rec_seq,
                              lamport, pos, length, len(payload)))
    struct.pack_into("<I", h, 12, crc32c(struct.pack("<Q", SALT) + h + payload))
    pad = (-(48 + len(payload))) % 8
    return h + payload + bytes(pad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seq", type=int)
    ap.add_argument("--host")
    ap.add_argument("--res")
    ap.add_argument("--data", type=int, default=3, help="4 KiB DATA records")
    ap.add_argument("--big", type=int, default=0, help="1 MiB DATA records after them")
    ap.add_argument("--example", action="store_true", help="the file of section 12")
    ap.add_argument("--eof", action="store_true", help="end with EOF(DRAINED)")
    ap.add_argument("--flip-record", type=int, help="flip a payload bit of record K")
    ap.add_argument("--lamport-back", type=int, help="record K goes back in time")
    ap.add_argument("--cut", type=int, default=0, help="drop the last N bytes")
    ap.add_argument("--zeros", type=int, default=0, help="append N zero bytes")
    ap.add_argument("--zero-file", type=int, help="only SIZE zero bytes")
    a = ap.parse_args()

    if a.zero_file is not None:
        with open(a.out, "wb") as f:
            f.write(bytes(a.zero_file))
        print("end", a.zero_file)
        return 0
    m = re.fullmatch(r"log-(\d{9})-(.+)", os.path.basename(a.out))
    d = re.fullmatch(r"resource-(.+)", os.path.basename(os.path.dirname(os.path.abspath(a.out))))
    seq = a.seq if a.seq is not None else int(m.group(1)) if m else 1
    host = a.host or (m.group(2) if m else "alpha")
    res = a.res or (d.group(1) if d else "r0")

    out = bytearray(file_header(seq, host, res, 1, 512))
    offsets = []
    lamport = LAMPORT0
    n = 0
    sizes = [] if a.example else [4096] * a.data + [1 << 20] * a.big
    if a.example:
        lamport += 1000
        offsets.append(len(out))
        out += record(T_DATA, F_SYNC, 1, lamport, 1 << 20, 512, b"mars" * 128)
        n += 1
    for i, size in enumerate(sizes):
        lamport += 1000
        lp = lamport - 5000 if a.lamport_back == i else lamport
        payload = bytearray(bytes([i & 0xFF]) * size)
        offsets.append(len(out))
        out += record(T_DATA, 0, i + 1, lp, i * size, size, bytes(payload))
        n += 1
    if a.eof:
        offsets.append(len(out))
        out += record(T_EOF, F_DRAINED, n + 1, lamport + 1000, 0, 0, b"")
    if a.flip_record is not None:
        out[offsets[a.flip_record] + 48 + 100] ^= 0x01
    if a.cut:
        del out[len(out) - a.cut:]
    out += bytes(a.zeros)
    with open(a.out, "wb") as f:
        f.write(out)
    for o in offsets:
        print(o)
    print("end", len(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
