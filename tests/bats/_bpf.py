#!/usr/bin/env python3
# tests/bats/_bpf.py: raw MARS_IOC_MAP_ATTACH/MAP_INFO calls for tests that hand the
# module wrong fds on purpose (marsctl only ever hands the right maps).
#   attach KIND PIN|file:PATH|fd:N   -> "OK <map_id>" or "<ERRNO>: <errmsg>"
#   info                             -> "<kind>=<map_id> ..." for kinds 1..6
import ctypes, errno, fcntl, os, struct, sys

BPF_OBJ_GET = 7
SYS_BPF = 321  # x86_64

def ioc(nr, size):
    return (3 << 30) | (size << 16) | (0xB7 << 8) | nr

def obj_get(path):
    libc = ctypes.CDLL(None, use_errno=True)
    p = ctypes.create_string_buffer(path.encode())
    attr = ctypes.create_string_buffer(struct.pack('<QII', ctypes.addressof(p), 0, 0), 128)
    fd = libc.syscall(SYS_BPF, BPF_OBJ_GET, attr, 128)
    if fd < 0:
        sys.exit('BPF_OBJ_GET %s: %s' % (path, os.strerror(ctypes.get_errno())))
    return fd

ctl = os.open('/dev/mars-ctl', os.O_RDWR)
if sys.argv[1] == 'attach':
    kind, what = int(sys.argv[2]), sys.argv[3]
    if what.startswith('file:'):
        fd = os.open(what[5:], os.O_RDONLY)
    elif what.startswith('fd:'):
        fd = int(what[3:])
    else:
        fd = obj_get(what)
    buf = bytearray(struct.pack('<IIIiII128s4Q', 184, 0, kind, fd, 0, 0, b'', 0, 0, 0, 0))
    try:
        fcntl.ioctl(ctl, ioc(1, 184), buf)
        print('OK %d' % struct.unpack_from('<I', buf, 16)[0])
    except OSError as e:
        print('%s: %s' % (errno.errorcode[e.errno], bytes(buf[24:152]).split(b'\0')[0].decode()))
elif sys.argv[1] == 'info':
    buf = bytearray(struct.pack('<IIII16I128s4Q', 240, 0, 0, 0, *([0] * 16), b'', 0, 0, 0, 0))
    fcntl.ioctl(ctl, ioc(2, 240), buf)
    ids = struct.unpack_from('<16I', buf, 16)
    print(' '.join('%d=%d' % (k, ids[k]) for k in range(1, 7)))
