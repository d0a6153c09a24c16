#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Randomized ioctls on /dev/mars-ctl.

Thousands of calls, seeded (the seed is printed first, so a failure can be
replayed with --seed): random command numbers around MARS_IOC_MAGIC, the real
commands with random sizes and random struct bytes, invalid user pointers
(NULL, 1, unmapped, kernel addresses, a struct straddling a guard page, a
read-only page the kernel must write to), valid-looking creates with random
names, paths, backends and sizes, deletes (forced or not, also while a device is
held open), lists, sio pool resizes and a little IO on the devices it made.

Besides surviving, it checks the answers it can predict: a request that breaks a
rule of the uapi header (unknown ioctl, wrong size field, unknown flag, non-zero
reserved field, bad name, bad backend, bio on a file, out-of-range numbers) must
fail; a failed create or delete of a well-formed struct explains itself in a
one-line errmsg; a non-forced delete of a device we hold open fails with EBUSY;
IO through a descriptor held across a forced delete transfers nothing (a read
ends at once or fails, a write fails) and does not hang. At the end it
closes everything, force-deletes what is left and checks that no device remains.

Exit status: 0 all good, 1 a broken rule (each printed), 2 usage.
The kernel log is the suite's business (tests/bats/_common.bash).
"""
import argparse
import collections
import ctypes
import errno
import faulthandler
import mmap
import os
import random
import stat
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import mars_uapi as U  # noqa: E402

PAGE = mmap.PAGESIZE
MAX_LIVE = 6            # devices alive at once
MAX_FDS = 4             # descriptors held open on them

VALID_NAMES = [b"fz0", b"fz1", b"fz2", b"fz3", b"fz4", b"fz5", b"F_z-9.x", b"y" * 26]
INVALID_NAMES = [b"", b"a/b", b".x", b"-x", b"z" * 27, b"z" * 32, b"bad name", b"\xc3\xa9t\xc3\xa9",
                 b"a\x00garbage", b"/", b"..", b"fz0\n"]


def name_valid(raw):
    """raw: the 32 bytes of the name field."""
    if b"\x00" not in raw:
        return False
    name, rest = raw.split(b"\x00", 1)
    if not 1 <= len(name) <= U.NAME_LEN or any(rest):
        return False
    if name[:1] in (b".", b"-"):
        return False
    ok = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
    return all(c in ok for c in name)


class Fuzzer:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.fd = U.open_ctl()
        self.stats = collections.Counter()
        self.violations = []
        self.live = {}          # name -> incarnation number
        self.incarnation = 0
        self.fds = []           # (fd, name, incarnation, dead)
        # Memory: pages 0-1 scratch, 2 read-only, 3 writable, 4 a guard page
        # (PROT_NONE), so a struct can be placed to straddle the guard page.
        self.mem = mmap.mmap(-1, 5 * PAGE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self.base = ctypes.addressof(ctypes.c_char.from_buffer(self.mem))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        if libc.mprotect(self.base + 2 * PAGE, PAGE, mmap.PROT_READ) or \
                libc.mprotect(self.base + 4 * PAGE, PAGE, 0):  # PROT_NONE
            raise OSError(ctypes.get_errno(), "mprotect")
        self.ro_page = self.base + 2 * PAGE
        self.guard = self.base + 4 * PAGE
        self.bufs = []          # keep ctypes buffers alive during a call
        self.backings = []
        for p in args.backing:
            st = os.stat(p)
            size = st.st_size
            if stat.S_ISBLK(st.st_mode):
                with open(p, "rb") as f:
                    size = f.seek(0, os.SEEK_END)
            self.backings.append((p, stat.S_ISBLK(st.st_mode), size))

    # --- helpers ---------------------------------------------------------------------
    def violation(self, what):
        self.violations.append(what)
        print("VIOLATION: " + what, flush=True)

    def bad_pointer(self, size):
        r = self.rng
        return r.choice([
            0, 1, 0xDEADBEEF000, 0xFFFF888000000000, 0xFFFFFFFFFFFFFFFF,
            0x7FFFFFFFF000, self.guard, self.guard - r.randint(1, max(1, size - 1)),
            # Never a random low address: it could be this process's own heap,
            # which a LIST or a failed create would then overwrite.
            self.ro_page, r.getrandbits(64) | (1 << 63),
        ])

    def rand_bytes(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n))

    def scratch(self, data):
        """Put data at the end of pages 0-1, right before the read-only page."""
        addr = self.ro_page - len(data)
        ctypes.memmove(addr, data, len(data))
        return addr

    def call(self, what, cmd, arg):
        t = time.monotonic()
        e = U.ioctl(self.fd, cmd, arg)
        dt = time.monotonic() - t
        if dt > 10:
            self.violation("%s took %.1f s" % (what, dt))
        self.stats["%s %s" % (what, U.errname(e))] += 1
        return e

    def refresh_live(self):
        """Learn the devices from the module (a create may succeed and still EFAULT)."""
        names = {bytes(d.name) for d in U.dev_list(self.fd)}
        for n in list(self.live):
            if n not in names:
                del self.live[n]
        for n in names:
            if n not in self.live:
                self.incarnation += 1
                self.live[n] = self.incarnation

    def check_errmsg(self, what, e, st):
        """A failed request whose struct was well-formed (size, flags, reserved) is
        copied back with a one-line reason."""
        f = type(st).errmsg     # the whole array: st.errmsg stops at the first NUL
        raw = ctypes.string_at(ctypes.addressof(st) + f.offset, f.size)
        if b"\x00" not in raw:
            self.violation("%s: errmsg not NUL-terminated" % what)
            return
        msg = raw.split(b"\x00", 1)[0]
        if b"\n" in msg:
            self.violation("%s: errmsg has a newline: %r" % (what, msg))
        if e not in (errno.EFAULT, errno.EPERM, errno.ENOMEM, errno.EINTR) and not msg:
            self.violation("%s failed with %s and no errmsg" % (what, U.errname(e)))

    # --- actions ---------------------------------------------------------------------
    def act_random_cmd(self):
        r = self.rng
        known = {c for c, _ in U.IOCTLS.values()}
        d = r.randint(0, 3)
        typ = r.choice([U.MAGIC] * 6 + [U.MAGIC - 1, U.MAGIC + 1, r.randint(0, 255)])
        nr = r.choice([0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x01, 0x0F, r.randint(0, 255)])
        size = r.choice([0, 8, 56, 88, 200, 208, 240, 352, 4096, r.randint(0, 0x3FFF)])
        size += r.choice([0, 0, 0, -8, 8, 1]) if size >= 8 else 0
        cmd = (d << 30) | ((size & 0x3FFF) << 16) | (typ << 8) | nr
        if r.random() < 0.6:
            arg = self.scratch(self.rand_bytes(r.randint(0, 2 * PAGE - 64)))
        else:
            arg = self.bad_pointer(size)
        e = self.call("random", cmd, arg)
        if cmd not in known and e == 0:
            self.violation("unknown ioctl %#x succeeded" % cmd)

    def act_real_cmd_random_bytes(self):
        r = self.rng
        name = r.choice(list(U.IOCTLS))
        cmd, cls = U.IOCTLS[name]
        n = ctypes.sizeof(cls)
        data = bytearray(self.rand_bytes(n))
        size_ok = r.random() < 0.6
        if size_ok:
            data[0:4] = n.to_bytes(4, "little")
        elif r.random() < 0.5:
            data[0:4] = r.choice([0, n - 8, n + 8, n * 2, 0xFFFFFFFF]).to_bytes(4, "little")
        zero_rest = r.random() < 0.4
        if zero_rest:   # flags and reserved zero: only the payload is random
            data[4:8] = bytes(4)
            off = cls.reserved.offset
            data[off:off + cls.reserved.size] = bytes(cls.reserved.size)
        st = cls.from_buffer_copy(bytes(data))
        if r.random() < 0.75:
            arg = self.scratch(bytes(data))
        else:
            arg = self.bad_pointer(n)
        e = self.call("bytes-" + name, cmd, arg)
        broken = st.size != n or any(st.reserved)
        if name == "delete":
            broken |= bool(st.flags & ~U.DEV_DELETE_F_FORCE)
        else:
            broken |= st.flags != 0
        if e == 0 and broken:
            self.violation("%s with size=%d flags=%#x reserved=%s succeeded"
                           % (name, st.size, st.flags, list(st.reserved)))
        if e == 0 and name == "create":
            self.refresh_live()

    def act_create(self):
        r = self.rng
        if len(self.live) >= MAX_LIVE:
            return self.act_delete()
        c = U.new(U.DevCreate)
        raw = r.choice(VALID_NAMES * 3 + INVALID_NAMES + [self.rand_bytes(r.randint(0, 32))])
        raw = raw[:U.NAME_MAX].ljust(U.NAME_MAX, b"\x00")
        ctypes.memmove(ctypes.addressof(c) + U.DevCreate.name.offset, raw, U.NAME_MAX)
        kind = r.random()
        tmp = os.path.join(self.a.workdir, "fz-small")
        if kind < 0.7 and self.backings:
            path, is_blk, bsize = r.choice(self.backings)
        else:
            path = r.choice(["/nonexistent/x", self.a.workdir, "/dev/null", tmp, "",
                             "relative/path", "/" * 300, "/x" * 2100])
            is_blk, bsize = False, 0
            if path == tmp and not os.path.exists(tmp):
                with open(tmp, "wb") as f:
                    f.truncate(64 * 1024)
        pbytes = path.encode() + b"\x00"
        buf = ctypes.create_string_buffer(pbytes, len(pbytes))
        self.bufs = [buf]
        c.data_path = ctypes.addressof(buf)
        c.data_path_len = len(pbytes)
        path_ok = bool(path) and len(pbytes) <= U.PATH_MAX
        p = r.random()
        if p < 0.05:
            c.data_path = self.bad_pointer(len(pbytes))
            path_ok = False
        elif p < 0.10:
            c.data_path_len = r.choice([0, 1, len(pbytes) - 1, U.PATH_MAX + 1, 0xFFFFFFFF])
            path_ok = c.data_path_len == len(pbytes)
        c.backend = r.choice([1, 1, 2, 2, 3, 3, 0, 4, 0xFFFFFFFF])
        c.dev_size = r.choice([0, 0, 0, 1 << 20, 2 << 20, (1 << 20) + 512, 513, 4096,
                               bsize, bsize + 4096, 1 << 63])
        c.sio_threads = r.choice([0, 0, 1, 2, 4, 16, 64, 65, r.getrandbits(32)])
        c.queue_depth = r.choice([0, 0, 1, 32, 128, 1024, 1025, r.getrandbits(32)])
        if r.random() < 0.05:
            c.flags = r.getrandbits(32) | 1
        if r.random() < 0.05:
            c.reserved[r.randint(0, 3)] = r.getrandbits(64) | 1

        must_fail = []
        if not name_valid(raw):
            must_fail.append("name %r" % raw.rstrip(b"\x00"))
        if c.backend not in (1, 2, 3):
            must_fail.append("backend %d" % c.backend)
        if c.backend == U.BACKEND_BIO and path_ok and self.backings and \
                (path, False, bsize) in self.backings:
            must_fail.append("bio on a regular file")
        if c.sio_threads > U.SIO_THREADS_MAX:
            must_fail.append("sio_threads %d" % c.sio_threads)
        if c.queue_depth > U.QUEUE_DEPTH_MAX:
            must_fail.append("queue_depth %d" % c.queue_depth)
        if c.dev_size and (c.dev_size % 512 or c.dev_size < U.DEV_MIN_SIZE or
                           (bsize and c.dev_size > bsize)):
            must_fail.append("dev_size %d" % c.dev_size)
        struct_ok = not c.flags and not any(c.reserved)
        if not struct_ok:
            must_fail.append("flags/reserved")
        if not path_ok or bsize == 0:
            must_fail.append("path %r" % path[:40])

        arg = ctypes.addressof(c)
        if r.random() < 0.05:   # the struct itself straddles the guard page
            data = bytes(ctypes.string_at(arg, ctypes.sizeof(c)))
            arg = self.guard - r.randint(1, ctypes.sizeof(c) - 1)
            ctypes.memmove(arg, data[:self.guard - arg], self.guard - arg)
            must_fail.append("struct across the guard page")
        e = self.call("create", U.IOC_DEV_CREATE, arg)
        if e == 0 and must_fail:
            self.violation("create succeeded despite: " + ", ".join(must_fail))
        if e == 0:
            self.incarnation += 1
            self.live[raw.split(b"\x00", 1)[0]] = self.incarnation
        elif arg == ctypes.addressof(c) and struct_ok:
            self.check_errmsg("create", e, c)
            if e == errno.EEXIST:
                self.refresh_live()
        return None

    def act_delete(self):
        r = self.rng
        d = U.new(U.DevDelete)
        if self.live and r.random() < 0.8:
            name = r.choice(list(self.live))
        else:
            name = r.choice(VALID_NAMES + INVALID_NAMES)
        raw = name[:U.NAME_MAX].ljust(U.NAME_MAX, b"\x00")
        ctypes.memmove(ctypes.addressof(d) + U.DevDelete.name.offset, raw, U.NAME_MAX)
        d.flags = r.choice([0, 0, U.DEV_DELETE_F_FORCE, U.DEV_DELETE_F_FORCE, 2,
                            0xFFFFFFFF])
        held = any(n == name and inc == self.live.get(name) and not dead
                   for _, n, inc, dead in self.fds)
        e = self.call("delete", U.IOC_DEV_DELETE, ctypes.addressof(d))
        if e == 0 and d.flags & ~U.DEV_DELETE_F_FORCE:
            self.violation("delete with flags %#x succeeded" % d.flags)
        if held and d.flags == 0 and e != errno.EBUSY:
            self.violation("delete of a held device gave %s, not EBUSY" % U.errname(e))
        if e == 0:
            inc = self.live.pop(name, None)
            self.fds = [(f, n, i, dead or (n == name and i == inc))
                        for f, n, i, dead in self.fds]
        elif not d.flags & ~U.DEV_DELETE_F_FORCE:
            self.check_errmsg("delete", e, d)

    def act_list(self):
        r = self.rng
        lst = U.new(U.DevList)
        cap = r.choice([0, 1, 2, 8, 16, 1 << 31, 0xFFFFFFFF])
        entries = r.choice([0, 1, 2, 8, 16])
        arr = (U.DevInfo * max(entries, 1))()
        self.bufs = [arr]
        lst.capacity = cap
        lst.devs = ctypes.addressof(arr)
        if cap > entries:
            # Room for fewer entries than claimed, right before the guard page:
            # never a heap array smaller than the capacity, which the module
            # would rightly fill past its end.
            room = entries * ctypes.sizeof(U.DevInfo)
            lst.devs = self.guard - room if room else self.guard
        elif r.random() < 0.1:
            lst.devs = self.bad_pointer(ctypes.sizeof(U.DevInfo))
        e = self.call("list", U.IOC_DEV_LIST, ctypes.addressof(lst))
        if e == 0 and lst.count != len(self.live):
            self.refresh_live()
            if lst.count != len(self.live):
                self.violation("list count %d, %d devices exist" % (lst.count, len(self.live)))

    def act_set(self):
        r = self.rng
        s = U.new(U.DevSet)
        name = r.choice(list(self.live)) if self.live else b"fz0"
        s.name = name
        s.sio_threads = r.choice([0, 1, 2, 3, 8, 16, 64, 65, r.getrandbits(32)])
        if r.random() < 0.05:
            s.pad = 1
        e = self.call("set", U.IOC_DEV_SET, ctypes.addressof(s))
        if e == 0 and (s.sio_threads > U.SIO_THREADS_MAX or s.pad):
            self.violation("set sio_threads=%d pad=%d succeeded" % (s.sio_threads, s.pad))
        if e and not s.pad:
            self.check_errmsg("set", e, s)

    def act_io(self):
        r = self.rng
        if self.fds and (len(self.fds) >= MAX_FDS or r.random() < 0.4):
            i = r.randrange(len(self.fds))
            fd, name, inc, dead = self.fds.pop(i)
            self.do_io(fd, name, dead)
            os.close(fd)
            return
        if not self.live:
            return
        name = r.choice(list(self.live))
        try:
            # bytes: a name the module should have refused may not be UTF-8
            fd = os.open(b"/dev/mars/" + name, os.O_RDWR | os.O_DIRECT | os.O_CLOEXEC)
        except OSError as ex:
            self.stats["open " + U.errname(ex.errno)] += 1
            return
        self.stats["open OK"] += 1
        self.fds.append((fd, name, self.live[name], False))
        self.do_io(fd, name, False)

    def do_io(self, fd, name, dead):
        buf = mmap.mmap(-1, 4096)
        off = self.rng.randrange(0, 256) * 4096
        t = time.monotonic()
        if self.rng.random() < 0.5:
            what = "read"
        else:
            what = "write"
            buf.write(self.rand_bytes(64))
        try:
            if what == "read":
                n = os.preadv(fd, [buf], off)
            else:
                n = os.pwritev(fd, [buf], off)
            res = "OK" if n else "EOF"
        except OSError as ex:
            res = U.errname(ex.errno)
        if time.monotonic() - t > 10:
            self.violation("IO on /dev/mars/%r took %.1f s" % (name, time.monotonic() - t))
        self.stats["%s%s %s" % (what, " dead" if dead else "", res)] += 1
        # A deleted disk has no capacity left: reads end at once (EOF) or fail,
        # writes fail (ENOSPC, or EIO for requests that reach the module).
        if dead and res == "OK":
            self.violation("a %s on a force-deleted device succeeded" % what)

    # --- run -------------------------------------------------------------------------
    def run(self):
        actions = [(self.act_random_cmd, 25), (self.act_real_cmd_random_bytes, 25),
                   (self.act_create, 16), (self.act_delete, 10), (self.act_list, 8),
                   (self.act_set, 8), (self.act_io, 8)]
        funcs = [f for f, _ in actions]
        weights = [w for _, w in actions]
        start = time.monotonic()
        done = 0
        for done in range(1, self.a.iterations + 1):
            self.rng.choices(funcs, weights)[0]()
            if done % 1000 == 0:
                print("ioctl_fuzz: %d calls, %.1f s" % (done, time.monotonic() - start),
                      flush=True)
            if time.monotonic() - start > self.a.max_seconds:
                print("time budget of %d s reached" % self.a.max_seconds, flush=True)
                break
        return done, time.monotonic() - start

    def cleanup(self):
        for fd, _n, _i, _d in self.fds:
            os.close(fd)
        self.fds = []
        for d in U.dev_list(self.fd):
            e, msg = U.dev_delete(self.fd, bytes(d.name), U.DEV_DELETE_F_FORCE)
            if e:
                self.violation("cleanup: delete %s: %s %s" % (d.name, U.errname(e), msg))
        left = U.dev_list(self.fd)
        if left:
            self.violation("devices left after cleanup: %s" % [bytes(d.name) for d in left])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--iterations", type=int, default=5000)
    p.add_argument("--max-seconds", type=int, default=50)
    p.add_argument("--backing", action="append", default=[],
                   help="a file or block device creates may use (repeatable)")
    p.add_argument("--workdir", default="/tmp")
    a = p.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    print("ioctl_fuzz: seed %d (replay with --seed %d)" % (a.seed, a.seed), flush=True)
    # A call that never returns: show where, then give up.
    faulthandler.dump_traceback_later(a.max_seconds + 60, exit=True)

    f = Fuzzer(a)
    n, secs = f.run()
    f.cleanup()
    print("ioctl_fuzz: %d calls in %.1f s" % (n, secs))
    for k, v in sorted(f.stats.items()):
        print("  %-28s %d" % (k, v))
    if f.violations:
        print("ioctl_fuzz: %d broken rules (seed %d)" % (len(f.violations), a.seed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
