#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw mars ioctls for tests: no checks in userspace, every field settable.

marsctl validates its arguments before it asks the kernel; the tests use this
tool to prove that the module validates them too. It prints one line, the errno
name and the module's errmsg (or "OK ..."), and exits 0 whatever the ioctl did.
"batch" runs many requests in one process (python starts slowly in the VM).

  mars_ioctl.py create NAME PATH [--backend N] [--size B] [--threads N] [--qd N]
                [--flags N] [--struct-size N] [--reserved N] [--path-len N]
                [--path-ptr ADDR] [--name-hex HEX]
  mars_ioctl.py delete NAME [--force] [--flags N] [--struct-size N] [--reserved N]
  mars_ioctl.py set NAME [--threads N] [--flags N] [--pad N] [--struct-size N]
                [--reserved N]
  mars_ioctl.py list [--capacity N] [--devs-ptr ADDR] [--flags N] [--struct-size N]
                [--reserved N]
  mars_ioctl.py batch     requests from stdin, one a line: EXPECT COMMAND ARGS...,
                          EXPECT being OK, an errno name (EINVAL), or an errno name
                          and a colon (EINVAL:) when errmsg must explain it; prints
                          each request and its result, exits 1 on a mismatch
  mars_ioctl.py all       each ioctl once with a valid-looking struct (for EPERM)
  mars_ioctl.py cleanup   force-delete every device, whatever its name
  mars_ioctl.py layout    sizes and offsets of the mirrored structs
  mars_ioctl.py layout-c  a C program printing the same from the real header
"""
import argparse
import ctypes
import shlex
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import mars_uapi as U  # noqa: E402


def num(s):
    return int(s, 0)


def put_bytes(st, field, data):
    """Copy raw bytes into a char array field (no NUL added, nothing checked)."""
    off = getattr(type(st), field).offset
    size = getattr(type(st), field).size
    data = data[:size]
    ctypes.memmove(ctypes.addressof(st) + off, data, len(data))


def common(st, a):
    if a.struct_size is not None:
        st.size = a.struct_size
    st.flags = a.flags
    if a.reserved:
        st.reserved[0] = a.reserved


def report(e, st=None, extra=""):
    """The result line: "OK ...", "ERRNO: errmsg" or "ERRNO"."""
    msg = ""
    if st is not None and hasattr(st, "errmsg"):
        msg = st.errmsg.decode(errors="replace")
    if e == 0:
        return ("OK " + extra).rstrip()
    return "%s: %s" % (U.errname(e), msg) if msg else U.errname(e)


def do_create(fd, a):
    c = U.new(U.DevCreate)
    common(c, a)
    if a.name_hex is not None:
        put_bytes(c, "name", bytes.fromhex(a.name_hex))
    else:
        put_bytes(c, "name", a.name.encode())
    path = ctypes.create_string_buffer(a.path.encode())  # NUL-terminated
    c.data_path = a.path_ptr if a.path_ptr is not None else ctypes.addressof(path)
    c.data_path_len = a.path_len if a.path_len is not None else len(a.path.encode()) + 1
    c.backend = a.backend
    c.dev_size = a.size
    c.sio_threads = a.threads
    c.queue_depth = a.qd
    e = U.ioctl_struct(fd, U.IOC_DEV_CREATE, c)
    return report(e, c, "%d:%d" % (c.major, c.minor))


def do_delete(fd, a):
    d = U.new(U.DevDelete)
    common(d, a)
    if a.force:
        d.flags |= U.DEV_DELETE_F_FORCE
    put_bytes(d, "name", a.name.encode())
    return report(U.ioctl_struct(fd, U.IOC_DEV_DELETE, d), d)


def do_set(fd, a):
    s = U.new(U.DevSet)
    common(s, a)
    put_bytes(s, "name", a.name.encode())
    s.sio_threads = a.threads
    s.pad = a.pad
    return report(U.ioctl_struct(fd, U.IOC_DEV_SET, s), s)


def do_list(fd, a):
    arr = (U.DevInfo * max(a.capacity, 1))()
    lst = U.new(U.DevList)
    common(lst, a)
    lst.devs = a.devs_ptr if a.devs_ptr is not None else ctypes.addressof(arr)
    lst.capacity = a.capacity
    e = U.ioctl_struct(fd, U.IOC_DEV_LIST, lst)
    return report(e, None, "count=%d" % lst.count)


def do_all(fd, _a):
    """Each ioctl with a well-formed struct: 'name ERRNO' per line."""
    out = []
    for name, (cmd, cls) in U.IOCTLS.items():
        st = U.new(cls)
        if hasattr(st, "name"):
            st.name = b"mars-eperm"
        out.append("%s %s" % (name, U.errname(U.ioctl_struct(fd, cmd, st))))
    return "\n".join(out)


def do_cleanup(fd, _a):
    """Force-delete every device (names marsctl would refuse too): one line each."""
    out = []
    for d in U.dev_list(fd):
        e, msg = U.dev_delete(fd, bytes(d.name), U.DEV_DELETE_F_FORCE)
        out.append("deleted %r: %s" % (bytes(d.name), report(e, None) if not e
                                         else "%s %s" % (U.errname(e), msg)))
    return "\n".join(out)


REQUESTS = {"create": do_create, "delete": do_delete, "set": do_set, "list": do_list,
            "all": do_all, "cleanup": do_cleanup}


def matches(expect, got):
    if expect == "OK":
        return got.startswith("OK")
    if expect.endswith(":"):
        return got.startswith(expect + " ") and len(got) > len(expect) + 1
    return got == expect or got.startswith(expect + ":")


def do_batch(fd, parser):
    bad = 0
    for line in sys.stdin:
        words = shlex.split(line)
        if not words:
            continue
        expect, argv = words[0], words[1:]
        try:
            a = parser.parse_args(argv)
            got = REQUESTS[a.cmd](fd, a)
        except SystemExit:
            got = "USAGE"
        ok = matches(expect, got)
        bad += not ok
        print("%s %s -> %s" % ("ok  " if ok else "BAD ", shlex.join(argv), got))
        if not ok:
            print("     expected " + expect)
    return 1 if bad else 0


def do_layout(_fd, _a):
    for cls in (U.Version, U.DevCreate, U.DevDelete, U.DevInfo, U.DevList, U.DevSet):
        fields = " ".join("%s=%d" % (f, getattr(cls, f).offset) for f, _ in cls._fields_)
        print("%s %d %s" % (cls.__name__, ctypes.sizeof(cls), fields))
    for name, (cmd, _cls) in U.IOCTLS.items():
        print("%s %#x %#x" % (name, cmd, cmd))


C_NAMES = {"Version": "mars_ioc_version", "DevCreate": "mars_ioc_dev_create",
           "DevDelete": "mars_ioc_dev_delete", "DevInfo": "mars_dev_info",
           "DevList": "mars_ioc_dev_list", "DevSet": "mars_ioc_dev_set"}


def do_layout_c(_fd, _a):
    print("#include <stddef.h>\n#include <stdio.h>\n#include <linux/mars.h>\n")
    print("int main(void)\n{")
    for cls in (U.Version, U.DevCreate, U.DevDelete, U.DevInfo, U.DevList, U.DevSet):
        c = "struct " + C_NAMES[cls.__name__]
        fmt = " ".join("%s=%%zu" % f for f, _ in cls._fields_)
        args = ", ".join("offsetof(%s, %s)" % (c, f) for f, _ in cls._fields_)
        print('\tprintf("%s %%zu %s\\n", sizeof(%s), %s);' % (cls.__name__, fmt, c, args))
    for name, (cmd, _cls) in U.IOCTLS.items():
        print('\tprintf("%s %%#x %#x\\n", (unsigned int)MARS_IOC_%s);'
              % (name, cmd, "VERSION" if name == "version" else "DEV_" + name.upper()))
    print("\treturn 0;\n}")


def parser():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("create", "delete", "set", "list", "all", "cleanup", "batch", "layout",
                 "layout-c"):
        sp = sub.add_parser(name)
        if name in ("all", "cleanup", "batch", "layout", "layout-c"):
            continue
        sp.add_argument("--flags", type=num, default=0)
        sp.add_argument("--struct-size", type=num)
        sp.add_argument("--reserved", type=num, default=0)
        if name in ("create", "delete", "set"):
            sp.add_argument("name")
    sc = sub.choices["create"]
    sc.add_argument("path")
    sc.add_argument("--backend", type=num, default=U.BACKEND_SIO)
    sc.add_argument("--size", type=num, default=0)
    sc.add_argument("--threads", type=num, default=0)
    sc.add_argument("--qd", type=num, default=0)
    sc.add_argument("--path-len", type=num)
    sc.add_argument("--path-ptr", type=num)
    sc.add_argument("--name-hex")
    sub.choices["delete"].add_argument("--force", action="store_true")
    sub.choices["set"].add_argument("--threads", type=num, default=0)
    sub.choices["set"].add_argument("--pad", type=num, default=0)
    sl = sub.choices["list"]
    sl.add_argument("--capacity", type=num, default=16)
    sl.add_argument("--devs-ptr", type=num)
    return p


def main():
    p = parser()
    a = p.parse_args()
    if a.cmd in ("layout", "layout-c"):
        (do_layout if a.cmd == "layout" else do_layout_c)(None, a)
        return 0
    try:
        fd = U.open_ctl()
    except OSError as e:
        print("%s: cannot open %s" % (U.errname(e.errno), U.CTL_PATH))
        return 1 if a.cmd == "batch" else 0
    if a.cmd == "batch":
        return do_batch(fd, p)
    print(REQUESTS[a.cmd](fd, a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
