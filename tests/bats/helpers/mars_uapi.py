# SPDX-License-Identifier: GPL-2.0
"""The mars ioctl ABI (include/uapi/linux/mars.h) mirrored in ctypes, for tests.

The structs here must match the header field for field; the suite
10-datapath.bats checks their sizes and offsets against a C compiler's.
ioctl() goes through libc so that any integer, including an invalid user
pointer, can be passed as the argument.
"""
import ctypes
import errno
import os

MAGIC = 0xB7
CTL_PATH = "/dev/mars-ctl"
NAME_MAX = 32           # size of the name arrays
NAME_LEN = 26           # longest name
PATH_MAX = 4096
ERRMSG_MAX = 128
DEV_MIN_SIZE = 1 << 20
SIO_THREADS_MAX = 64
QUEUE_DEPTH_MAX = 1024

BACKEND_SIO, BACKEND_AIO, BACKEND_BIO = 1, 2, 3
BACKENDS = {"sio": BACKEND_SIO, "aio": BACKEND_AIO, "bio": BACKEND_BIO}
DEV_DELETE_F_FORCE = 1

u32, u64, char = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_char


class Version(ctypes.Structure):
    _fields_ = [("size", u32), ("flags", u32), ("abi_major", u32), ("abi_minor", u32),
                ("features", u64), ("release", char * 32), ("reserved", u64 * 4)]


class DevCreate(ctypes.Structure):
    _fields_ = [("size", u32), ("flags", u32), ("name", char * NAME_MAX),
                ("data_path", u64), ("data_path_len", u32), ("backend", u32),
                ("dev_size", u64), ("sio_threads", u32), ("queue_depth", u32),
                ("major", u32), ("minor", u32), ("errmsg", char * ERRMSG_MAX),
                ("reserved", u64 * 4)]


class DevDelete(ctypes.Structure):
    _fields_ = [("size", u32), ("flags", u32), ("name", char * NAME_MAX),
                ("errmsg", char * ERRMSG_MAX), ("reserved", u64 * 4)]


class DevInfo(ctypes.Structure):
    _fields_ = [("name", char * NAME_MAX), ("dev_size", u64), ("backend", u32),
                ("state", u32), ("major", u32), ("minor", u32), ("open_count", u32),
                ("sio_threads", u32), ("queue_depth", u32),
                ("logical_block_size", u32), ("physical_block_size", u32),
                ("features", u32), ("data_path", char * 256), ("reserved", u64 * 2)]


class DevList(ctypes.Structure):
    _fields_ = [("size", u32), ("flags", u32), ("devs", u64), ("capacity", u32),
                ("count", u32), ("reserved", u64 * 4)]


class DevSet(ctypes.Structure):
    _fields_ = [("size", u32), ("flags", u32), ("name", char * NAME_MAX),
                ("sio_threads", u32), ("pad", u32), ("errmsg", char * ERRMSG_MAX),
                ("reserved", u64 * 4)]


def _iowr(nr, size):
    return (3 << 30) | (size << 16) | (MAGIC << 8) | nr


IOC_VERSION = _iowr(0x00, ctypes.sizeof(Version))
IOC_DEV_CREATE = _iowr(0x10, ctypes.sizeof(DevCreate))
IOC_DEV_DELETE = _iowr(0x11, ctypes.sizeof(DevDelete))
IOC_DEV_LIST = _iowr(0x12, ctypes.sizeof(DevList))
IOC_DEV_SET = _iowr(0x13, ctypes.sizeof(DevSet))

# name -> (ioctl number, struct), for tests that walk all of them.
IOCTLS = {
    "version": (IOC_VERSION, Version),
    "create": (IOC_DEV_CREATE, DevCreate),
    "delete": (IOC_DEV_DELETE, DevDelete),
    "list": (IOC_DEV_LIST, DevList),
    "set": (IOC_DEV_SET, DevSet),
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
_libc.ioctl.restype = ctypes.c_int


def ioctl(fd, cmd, arg):
    """ioctl(2) with an integer argument. Returns 0 or the errno."""
    if _libc.ioctl(fd, cmd & 0xFFFFFFFF, arg & 0xFFFFFFFFFFFFFFFF) < 0:
        return ctypes.get_errno()
    return 0


def ioctl_struct(fd, cmd, st):
    return ioctl(fd, cmd, ctypes.addressof(st))


def errname(e):
    return "OK" if e == 0 else errno.errorcode.get(e, "E%d" % e)


def open_ctl():
    return os.open(CTL_PATH, os.O_RDWR | os.O_CLOEXEC)


def new(cls):
    """A zeroed struct with its size field set."""
    st = cls()
    st.size = ctypes.sizeof(cls)
    return st


def dev_list(fd):
    """All devices as a list of DevInfo (raises OSError on failure)."""
    cap = 16
    while True:
        arr = (DevInfo * cap)()
        lst = new(DevList)
        lst.devs = ctypes.addressof(arr)
        lst.capacity = cap
        e = ioctl_struct(fd, IOC_DEV_LIST, lst)
        if e:
            raise OSError(e, "MARS_IOC_DEV_LIST: " + os.strerror(e))
        if lst.count <= cap:
            return list(arr[:lst.count])
        cap = lst.count + 16


def dev_delete(fd, name, flags=0):
    """Delete @name. Returns (errno, errmsg)."""
    d = new(DevDelete)
    d.flags = flags
    d.name = name.encode() if isinstance(name, str) else name
    e = ioctl_struct(fd, IOC_DEV_DELETE, d)
    return e, d.errmsg.decode(errors="replace")
