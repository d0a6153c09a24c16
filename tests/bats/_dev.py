#!/usr/bin/env python3
# tests/bats/_dev.py create NAME PATH BACKEND [SIO_THREADS] | delete NAME [force]:
# MARS_IOC_DEV_CREATE/DELETE from tests, until `marsctl dev` exists in this branch.
# Prints "OK" or "ERRNO: errmsg" and exits 0/1.
import ctypes, errno, fcntl, os, struct, sys

def ioc(nr, size):
    return (3 << 30) | (size << 16) | (0xB7 << 8) | nr

def call(nr, buf):
    fd = os.open('/dev/mars-ctl', os.O_RDWR)
    try:
        fcntl.ioctl(fd, ioc(nr, len(buf)), buf)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)

cmd = sys.argv[1]
if cmd == 'create':
    name, path, backend = sys.argv[2], sys.argv[3], {'sio': 1, 'aio': 2, 'bio': 3}[sys.argv[4]]
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    p = ctypes.create_string_buffer(path.encode())
    buf = bytearray(struct.pack('<II32sQIIQIIII128s4Q', 240, 0, name.encode(), ctypes.addressof(p),
                                len(path) + 1, backend, 0, threads, 0, 0, 0, b'', 0, 0, 0, 0))
    err, msg_off = call(0x10, buf), 80
elif cmd == 'delete':
    force = 1 if len(sys.argv) > 3 and sys.argv[3] == 'force' else 0
    buf = bytearray(struct.pack('<II32s128s4Q', 200, force, sys.argv[2].encode(), b'', 0, 0, 0, 0))
    err, msg_off = call(0x11, buf), 40
else:
    sys.exit('usage: _dev.py create NAME PATH BACKEND [THREADS] | delete NAME [force]')
if err:
    print('%s: %s' % (errno.errorcode[err], bytes(buf[msg_off:msg_off + 128]).split(b'\0')[0].decode()))
    sys.exit(1)
print('OK')
