// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store handle: open (locking, creation, recovery), close, reads (get, list,
 * history, stats), and the append path that every write goes through.
 * docs/journal-format.md sections 8 (writing, locking) and 9 (recovery).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define DEFAULT_DEAD_PCT	50u
#define DEFAULT_MIN_BYTES	(1ull << 20)
#define DEFAULT_HORIZON_NS	(7ull * 24 * 3600 * 1000000000ull)
#define LOCK_POLL_MS		10u

void store_options_init(struct store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->compact_dead_pct = DEFAULT_DEAD_PCT;
	o->compact_min_bytes = DEFAULT_MIN_BYTES;
	o->tombstone_horizon_ns = DEFAULT_HORIZON_NS;
}

uint64_t store_now_ns(const struct store *s)
{
	struct timespec ts;

	if (s->opt.clock_ns)
		return s->opt.clock_ns(s->opt.clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int store_random_salt(uint64_t *salt)
{
	struct timespec ts;
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v)) {
		*salt = v;
		return 0;
	}
	/* No getrandom (old kernel, seccomp): still unique enough to tell files apart,
	 * which is all the salt is for. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48);
	clock_gettime(CLOCK_REALTIME, &ts);
	*salt = v ^ (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull;
	return 0;
}

int store_write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t k = pwrite(fd, p, len, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		p += k;
		off += (uint64_t)k;
		len -= (size_t)k;
	}
	return 0;
}

int store_fsync_dir(const char *dir, struct store_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return se_set(err, -errno, STORE_NO_OFFSET, "opening directory %s: %s",
			      dir, strerror(errno));
	if (fsync(fd))
		ret = se_set(err, -errno, STORE_NO_OFFSET, "fsync of directory %s: %s",
			     dir, strerror(errno));
	close(fd);
	return ret;
}

int store_origin_intern(struct store *s, const char *name, size_t len, uint32_t *idx)
{
	char **no, *copy;
	uint32_t i;

	for (i = 0; i < s->n_origins; i++) {
		if (strlen(s->origins[i]) == len && !memcmp(s->origins[i], name, len)) {
			*idx = i;
			return 0;
		}
	}
	if (s->n_origins >= STORE_MAX_ORIGINS)
		return -E2BIG;
	copy = strndup(name, len);
	if (!copy)
		return -ENOMEM;
	no = realloc(s->origins, (s->n_origins + 1) * sizeof(*no));
	if (!no) {
		free(copy);
		return -ENOMEM;
	}
	s->origins = no;
	s->origins[s->n_origins] = copy;
	*idx = s->n_origins++;
	return 0;
}

void store_apply(struct store *s, struct sx_node *node, bool is_new, uint64_t ts,
		 uint32_t origin, bool tomb, uint8_t *value, uint32_t value_len,
		 uint64_t rec_off)
{
	if (is_new) {
		sx_insert(&s->idx, node);
	} else {
		s->live_bytes -= SJ_ENTRY_BYTES(node->key_len, node->value_len);
		s->tombstones -= node->tomb;
		free(node->value);
	}
	node->value = value;
	node->value_len = value_len;
	node->ts = ts;
	node->origin = origin;
	node->tomb = tomb;
	node->rec_off = rec_off;
	s->live_bytes += SJ_ENTRY_BYTES(node->key_len, value_len);
	s->tombstones += tomb;
	if (ts > s->clock)
		s->clock = ts;
}

int store_append(struct store *s, const uint8_t *rec, size_t len, struct store_error *err)
{
	int ret = store_write_all(s->fd, rec, len, s->end);

	if (ret) {
		/* Nothing was acknowledged: cut what may have reached the file. If even
		 * that fails, the file's state is unknown: refuse further writes. */
		if (ftruncate(s->fd, (off_t)s->end))
			s->failed = true;
		return se_set(err, ret, s->end, "%s: appending %zu bytes at offset %llu: %s",
			      s->path, len, (unsigned long long)s->end, strerror(-ret));
	}
	if (fdatasync(s->fd)) {
		ret = -errno;
		/* After a failed sync the kernel may have dropped the dirty pages: what is
		 * on disk is unknown until the file is read again (docs 8). */
		s->failed = true;
		return se_set(err, ret == -EIO ? -EIO : ret, s->end,
			      "%s: fdatasync failed: %s; the store refuses writes until it is reopened",
			      s->path, strerror(-ret));
	}
	s->end += len;
	s->records++;
	return 0;
}

int store_check_writable(struct store *s, struct store_error *err)
{
	if (s->readonly)
		return se_set(err, -EROFS, STORE_NO_OFFSET, "%s: opened read-only", s->path);
	if (s->failed)
		return se_set(err, -EIO, STORE_NO_OFFSET,
			      "%s: an earlier write failed; close and reopen the store", s->path);
	return 0;
}

/* ---- open ---- */

static int recover_apply(void *arg, uint64_t rec_off, const struct sj_batch *b,
			 struct store_error *err)
{
	struct store *s = arg;
	const uint8_t *q = b->ops;
	uint32_t i;
	int ret;

	for (i = 0; i < b->n_origins; i++) {
		ret = store_origin_intern(s, b->names[i].p, b->names[i].len, &s->omap[i]);
		if (ret)
			return se_set(err, ret, rec_off,
				      "%s: record at offset %llu: %s", s->path,
				      (unsigned long long)rec_off,
				      ret == -E2BIG ? "too many distinct origin hosts" :
						      strerror(-ret));
	}
	for (i = 0; i < b->n_ops; i++) {
		struct sj_op op;
		struct sx_node *n;
		uint8_t *v = NULL;
		bool is_new = false;

		sj_op_decode(&q, &op);
		n = sx_find(&s->idx, op.key, op.key_len);
		if (!n) {
			n = sx_node_new(op.key, op.key_len);
			if (!n)
				goto nomem;
			is_new = true;
		}
		if (op.value_len) {
			v = malloc(op.value_len);
			if (!v) {
				if (is_new)
					free(n);
				goto nomem;
			}
			memcpy(v, op.value, op.value_len);
		}
		store_apply(s, n, is_new, op.ts, s->omap[op.origin], op.kind == STORE_DELETE,
			    v, op.value_len, rec_off);
	}
	return 0;

nomem:
	return se_set(err, -ENOMEM, rec_off, "%s: out of memory while loading the journal",
		      s->path);
}

static char *strcat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 1);

	if (r) {
		memcpy(r, a, la);
		memcpy(r + la, b, lb + 1);
	}
	return r;
}

static int set_paths(struct store *s, const char *path, struct store_error *err)
{
	const char *slash;

	if (!path || !*path || strlen(path) > PATH_MAX - 64)
		return se_set(err, -EINVAL, STORE_NO_OFFSET, "bad journal path");
	slash = strrchr(path, '/');
	s->path = strdup(path);
	if (!slash)
		s->dir = strdup(".");
	else if (slash == path)
		s->dir = strdup("/");
	else
		s->dir = strndup(path, (size_t)(slash - path));
	s->lock_path = strcat2(path, ".lock");
	s->tmp_path = strcat2(path, ".compact-tmp");
	if (!s->path || !s->dir || !s->lock_path || !s->tmp_path)
		return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
	return 0;
}

static int take_lock(struct store *s, struct store_error *err)
{
	unsigned int waited = 0;
	char buf[32];
	ssize_t k;

	s->lock_fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return se_set(err, -errno, STORE_NO_OFFSET, "opening lock file %s: %s",
			      s->lock_path, strerror(errno));
	while (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return se_set(err, -errno, STORE_NO_OFFSET, "locking %s: %s",
				      s->lock_path, strerror(errno));
		if (waited >= s->opt.lock_timeout_ms) {
			k = pread(s->lock_fd, buf, sizeof(buf) - 1, 0);
			buf[k > 0 ? k : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			return se_set(err, -EBUSY, STORE_NO_OFFSET,
				      "%s is in use by another writer%s%s%s (lock %s held)",
				      s->path, *buf ? " (pid " : "", buf, *buf ? ")" : "",
				      s->lock_path);
		}
		usleep(LOCK_POLL_MS * 1000);
		waited += LOCK_POLL_MS;
	}
	k = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(s->lock_fd, 0) == 0)
		(void)store_write_all(s->lock_fd, buf, (size_t)k, 0);
	return 0;
}

/* Write a journal holding only @h to the tmp name and rename it over s->path. */
static int create_journal(struct store *s, const struct sj_header *h, struct store_error *err)
{
	uint8_t buf[SJ_HDR_SIZE];
	int fd, ret;

	unlink(s->tmp_path);
	fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return se_set(err, -errno, STORE_NO_OFFSET, "creating %s: %s",
			      s->tmp_path, strerror(errno));
	sj_header_encode(h, buf);
	ret = store_write_all(fd, buf, sizeof(buf), 0);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && rename(s->tmp_path, s->path))
		ret = -errno;
	if (ret) {
		unlink(s->tmp_path);
		return se_set(err, ret, STORE_NO_OFFSET, "creating journal %s: %s",
			      s->path, strerror(-ret));
	}
	return store_fsync_dir(s->dir, err);
}

void store_new_header(struct store *s, struct sj_header *h, uint64_t generation)
{
	memset(h, 0, sizeof(*h));
	store_random_salt(&h->salt);
	h->created_ns = store_now_ns(s);
	h->generation = generation;
	h->clock_floor = s->clock;
	h->purge_floor = s->hdr.purge_floor;
	memcpy(h->host, s->host, sizeof(h->host));
}

static int open_journal(struct store *s, struct store_error *err)
{
	int flags = (s->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct sj_header h;
	int ret;

	s->fd = open(s->path, flags);
	if (s->fd >= 0)
		return 0;
	if (errno != ENOENT)
		return se_set(err, -errno, STORE_NO_OFFSET, "opening %s: %s", s->path,
			      strerror(errno));
	if (s->readonly || !(s->opt.flags & STORE_O_CREATE))
		return se_set(err, -ENOENT, STORE_NO_OFFSET,
			      "%s: no journal (create it by opening as a writer with create)",
			      s->path);
	if (!*s->host)
		return se_set(err, -EINVAL, STORE_NO_OFFSET,
			      "%s: creating a journal needs the local host name", s->path);
	store_new_header(s, &h, 0);
	ret = create_journal(s, &h, err);
	if (ret)
		return ret;
	s->fd = open(s->path, flags);
	if (s->fd < 0)
		return se_set(err, -errno, STORE_NO_OFFSET, "opening %s: %s", s->path,
			      strerror(errno));
	return 0;
}

/* Read and check the header; a zero-length file is an empty store (docs 9). */
static int load_header(struct store *s, uint64_t *size, struct store_error *err)
{
	uint8_t buf[SJ_HDR_SIZE];
	struct sj_header h;
	struct stat st;
	bool bad_magic;
	ssize_t k;
	int ret;

	if (fstat(s->fd, &st))
		return se_set(err, -errno, STORE_NO_OFFSET, "stat %s: %s", s->path,
			      strerror(errno));
	*size = (uint64_t)st.st_size;
	if (*size == 0) {
		if (s->readonly)
			return 0;
		if (!*s->host)
			return se_set(err, -EINVAL, STORE_NO_OFFSET,
				      "%s: the journal is empty and no host name was given",
				      s->path);
		store_new_header(s, &h, 0);
		close(s->fd);
		s->fd = -1;
		ret = create_journal(s, &h, err);
		if (ret)
			return ret;
		s->fd = open(s->path, O_RDWR | O_CLOEXEC);
		if (s->fd < 0)
			return se_set(err, -errno, STORE_NO_OFFSET, "opening %s: %s",
				      s->path, strerror(errno));
		*size = SJ_HDR_SIZE;
	}
	memset(buf, 0, sizeof(buf));
	do {
		k = pread(s->fd, buf, sizeof(buf), 0);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return se_set(err, -errno, 0, "reading %s: %s", s->path, strerror(errno));
	ret = sj_header_decode(buf, (uint64_t)k < *size ? (uint64_t)k : *size, &h, s->path,
			       &bad_magic, err);
	if (ret)
		return ret;
	if (*s->host && strcmp(s->host, h.host))
		return se_set(err, -EINVAL, 56,
			      "%s: the journal belongs to host '%s', not '%s'", s->path,
			      h.host, s->host);
	memcpy(s->host, h.host, sizeof(s->host));
	s->hdr = h;
	s->have_header = true;
	return 0;
}

static void note_torn(struct store *s, const struct sj_scan_result *r, uint64_t size)
{
	s->torn_off = r->bad_off;
	s->torn_bytes = size - r->bad_off;
	snprintf(s->torn_reason_buf, sizeof(s->torn_reason_buf), "%s", r->reason);
	s->torn_reason = s->torn_reason_buf;
}

static int recover(struct store *s, uint64_t size, struct store_error *err)
{
	struct sj_scan_result r;
	struct sj_reader rd;
	int ret;

	s->clock = s->hdr.clock_floor;
	sj_reader_init(&rd, s->fd, size);
	ret = sj_scan(&rd, s->hdr.salt, s->names, recover_apply, s, &r, err);
	sj_reader_free(&rd);
	if (ret)
		return ret;
	if (r.end == SJ_END_CORRUPT) {
		char follow[64] = "";

		if (r.next_good)
			snprintf(follow, sizeof(follow), " (a valid record follows at offset %llu)",
				 (unsigned long long)r.next_good);
		return se_set(err, -EUCLEAN, r.bad_off,
			      "%s: %s in record at byte offset %llu%s; the journal is damaged before its end and was not opened. Run 'marsctl store repair' to keep the first %llu bytes and save the rest aside.",
			      s->path, r.reason, (unsigned long long)r.bad_off, follow,
			      (unsigned long long)r.bad_off);
	}
	if (r.max_batch_ts > s->clock)
		s->clock = r.max_batch_ts;
	s->end = r.valid_end;
	s->records = r.records;
	if (r.end == SJ_END_TORN) {
		note_torn(s, &r, size);
		if (!s->readonly) {
			if (ftruncate(s->fd, (off_t)s->end) || fdatasync(s->fd))
				return se_set(err, -errno, s->end,
					      "%s: cutting the torn tail at offset %llu: %s",
					      s->path, (unsigned long long)s->end,
					      strerror(errno));
		}
	}
	return 0;
}

int store_open(const char *path, const struct store_options *o, struct store **sp,
	       struct store_error *err)
{
	struct store_options defaults;
	struct store *s;
	uint64_t size = 0;
	int ret;

	*sp = NULL;
	if (!o) {
		store_options_init(&defaults);
		o = &defaults;
	}
	if (o->host && store_host_validate(o->host, err))
		return -EINVAL;
	if (o->compact_dead_pct > 100)
		return se_set(err, -EINVAL, STORE_NO_OFFSET,
			      "compact_dead_pct must be 0..100");
	s = calloc(1, sizeof(*s));
	if (!s)
		return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
	s->fd = s->lock_fd = -1;
	s->opt = *o;
	s->opt.host = NULL;
	s->readonly = o->flags & STORE_O_READONLY;
	if (o->host)
		snprintf(s->host, sizeof(s->host), "%s", o->host);
	ret = set_paths(s, path, err);
	if (ret)
		goto fail;
	s->names = calloc(STORE_MAX_ORIGINS, sizeof(*s->names));
	s->omap = calloc(STORE_MAX_ORIGINS, sizeof(*s->omap));
	if (!s->names || !s->omap) {
		ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		goto fail;
	}
	if (!s->readonly) {
		ret = take_lock(s, err);
		if (ret)
			goto fail;
		/* A compaction that died left this; the journal is intact (docs 10). */
		unlink(s->tmp_path);
	}
	ret = open_journal(s, err);
	if (ret)
		goto fail;
	ret = load_header(s, &size, err);
	if (ret)
		goto fail;
	if (s->have_header) {
		ret = recover(s, size, err);
		if (ret)
			goto fail;
		ret = store_origin_intern(s, s->host, strlen(s->host), &s->host_idx);
		if (ret) {
			se_set(err, ret, STORE_NO_OFFSET, "%s: too many origin hosts", s->path);
			goto fail;
		}
	}
	*sp = s;
	return 0;

fail:
	store_close(s);
	return ret;
}

void store_close(struct store *s)
{
	uint32_t i;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);	/* drops the flock */
	sx_destroy(&s->idx);
	for (i = 0; i < s->n_origins; i++)
		free(s->origins[i]);
	free(s->origins);
	free(s->names);
	free(s->omap);
	free(s->path);
	free(s->dir);
	free(s->lock_path);
	free(s->tmp_path);
	free(s);
}

/* ---- repair (docs 11) ---- */

/* Copy bytes [off, size) of s->fd to a new journal.corrupt-<UTC time> file. */
static int save_aside(struct store *s, uint64_t off, uint64_t size,
		      struct store_repair_report *rep, struct store_error *err)
{
	char stamp[32], *name = NULL;
	uint8_t *buf = NULL;
	struct tm tm;
	time_t t = (time_t)(store_now_ns(s) / 1000000000ull);
	int fd = -1, ret = 0, i;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 1000 && fd < 0; i++) {
		int k;

		free(name);
		if (i)
			k = asprintf(&name, "%s.corrupt-%s-%d", s->path, stamp, i);
		else
			k = asprintf(&name, "%s.corrupt-%s", s->path, stamp);
		if (k < 0) {
			name = NULL;
			return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		}
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			ret = se_set(err, -errno, STORE_NO_OFFSET, "creating %s: %s", name,
				     strerror(errno));
			goto out;
		}
	}
	if (fd < 0) {
		ret = se_set(err, -EEXIST, STORE_NO_OFFSET, "no free name for %s.corrupt-%s",
			     s->path, stamp);
		goto out;
	}
	buf = malloc(SJ_READ_CHUNK);
	if (!buf) {
		ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
		goto out;
	}
	while (off + rep->saved_bytes < size) {
		uint64_t left = size - off - rep->saved_bytes;
		size_t n = left < SJ_READ_CHUNK ? (size_t)left : SJ_READ_CHUNK;
		ssize_t k = pread(s->fd, buf, n, (off_t)(off + rep->saved_bytes));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			ret = k < 0 ? -errno : -EIO;
			break;
		}
		ret = store_write_all(fd, buf, (size_t)k, rep->saved_bytes);
		if (ret)
			break;
		rep->saved_bytes += (uint64_t)k;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	if (ret) {
		se_set(err, ret, STORE_NO_OFFSET, "saving damaged bytes to %s: %s", name,
		       strerror(-ret));
		unlink(name);
		goto out;
	}
	snprintf(rep->saved_path, sizeof(rep->saved_path), "%s", name);
	ret = store_fsync_dir(s->dir, err);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(name);
	return ret;
}

static int cut(struct store *s, uint64_t off, struct store_error *err)
{
	if (ftruncate(s->fd, (off_t)off) || fdatasync(s->fd))
		return se_set(err, -errno, off, "%s: truncating to %llu bytes: %s", s->path,
			      (unsigned long long)off, strerror(errno));
	return 0;
}

static int repair(struct store *s, struct store_repair_report *rep, struct store_error *err)
{
	uint8_t buf[SJ_HDR_SIZE];
	struct sj_scan_result r;
	struct sj_reader rd;
	struct sj_header h;
	struct stat st;
	bool bad_magic;
	ssize_t k;
	int ret;

	s->fd = open(s->path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0)
		return se_set(err, -errno, STORE_NO_OFFSET, "opening %s: %s", s->path,
			      strerror(errno));
	if (fstat(s->fd, &st))
		return se_set(err, -errno, STORE_NO_OFFSET, "stat %s: %s", s->path,
			      strerror(errno));
	if (st.st_size == 0)
		return 0;	/* an empty store; a writer's open gives it a header */
	memset(buf, 0, sizeof(buf));
	do {
		k = pread(s->fd, buf, sizeof(buf), 0);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return se_set(err, -errno, 0, "reading %s: %s", s->path, strerror(errno));
	ret = sj_header_decode(buf, (uint64_t)k, &h, s->path, &bad_magic, err);
	if (ret == -ENOTSUP || bad_magic)
		return ret;
	if (ret) {
		/* The header is damaged: nothing can be verified without its salt. */
		rep->damaged = 1;
		snprintf(rep->reason, sizeof(rep->reason), "%.400s",
			 err ? err->msg : "bad header");
		if (!*s->host)
			return se_set(err, -EINVAL, 0,
				      "%s: the journal header is damaged; repairing it needs the local host name",
				      s->path);
		ret = save_aside(s, 0, (uint64_t)st.st_size, rep, err);
		if (ret)
			return ret;
		store_new_header(s, &h, 0);
		ret = create_journal(s, &h, err);
		if (!ret)
			rep->kept_bytes = SJ_HDR_SIZE;
		return ret;
	}
	if (*s->host && strcmp(s->host, h.host))
		return se_set(err, -EINVAL, 56, "%s: the journal belongs to host '%s', not '%s'",
			      s->path, h.host, s->host);
	sj_reader_init(&rd, s->fd, (uint64_t)st.st_size);
	ret = sj_scan(&rd, h.salt, s->names, NULL, NULL, &r, err);
	sj_reader_free(&rd);
	if (ret)
		return ret;
	rep->kept_bytes = r.valid_end;
	if (r.end == SJ_END_CLEAN)
		return 0;
	rep->bad_offset = r.bad_off;
	if (r.end == SJ_END_TORN) {
		rep->torn_bytes = (uint64_t)st.st_size - r.bad_off;
		snprintf(rep->reason, sizeof(rep->reason), "torn tail: %s", r.reason);
		return cut(s, r.bad_off, err);
	}
	rep->damaged = 1;
	snprintf(rep->reason, sizeof(rep->reason), "%s at offset %llu", r.reason,
		 (unsigned long long)r.bad_off);
	ret = save_aside(s, r.bad_off, (uint64_t)st.st_size, rep, err);
	if (ret)
		return ret;
	return cut(s, r.bad_off, err);
}

int store_repair(const char *path, const struct store_options *o,
		 struct store_repair_report *rep, struct store_error *err)
{
	struct store_options defaults;
	struct store *s;
	int ret;

	memset(rep, 0, sizeof(*rep));
	if (!o) {
		store_options_init(&defaults);
		o = &defaults;
	}
	if (o->host && store_host_validate(o->host, err))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
	s->fd = s->lock_fd = -1;
	s->opt = *o;
	s->opt.host = NULL;
	if (o->host)
		snprintf(s->host, sizeof(s->host), "%s", o->host);
	ret = set_paths(s, path, err);
	if (!ret) {
		s->names = calloc(STORE_MAX_ORIGINS, sizeof(*s->names));
		if (!s->names)
			ret = se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
	}
	if (!ret)
		ret = take_lock(s, err);
	if (!ret) {
		unlink(s->tmp_path);
		ret = repair(s, rep, err);
	}
	store_close(s);
	return ret;
}

/* ---- reads ---- */

static void fill_entry(const struct store *s, const struct sx_node *n, struct store_entry *e)
{
	e->key = n->key;
	e->key_len = n->key_len;
	e->value = n->value;
	e->value_len = n->value_len;
	e->ts = n->ts;
	e->origin = s->origins[n->origin];
	e->tombstone = n->tomb;
	e->offset = n->rec_off;
}

int store_get(struct store *s, const char *key, unsigned int flags,
	      struct store_entry *e, struct store_error *err)
{
	struct sx_node *n;
	int ret;

	ret = store_key_validate(key, err);
	if (ret)
		return ret;
	n = sx_find(&s->idx, key, strlen(key));
	if (!n || (n->tomb && !(flags & STORE_F_TOMBSTONES)))
		return se_set(err, -ENOENT, STORE_NO_OFFSET, "%s: no such key", key);
	fill_entry(s, n, e);
	return 0;
}

int store_list(struct store *s, const char *prefix, unsigned int flags,
	       store_entry_cb cb, void *arg, struct store_error *err)
{
	struct store_entry e;
	struct sx_iter it;
	struct sx_node *n;
	size_t plen;
	int ret;

	if (!prefix)
		prefix = "";
	plen = strlen(prefix);
	if (plen > STORE_KEY_MAX)
		return se_set(err, -ENAMETOOLONG, STORE_NO_OFFSET, "prefix too long");
	sx_seek(&it, &s->idx, prefix, plen);
	while ((n = sx_next(&it))) {
		if (n->key_len < plen || memcmp(n->key, prefix, plen))
			break;
		if (n->tomb && !(flags & STORE_F_TOMBSTONES))
			continue;
		fill_entry(s, n, &e);
		ret = cb(&e, arg);
		if (ret)
			return ret;
	}
	return 0;
}

struct hist_pos {
	uint64_t rec_off;
	uint32_t op;
};

struct hist_ctx {
	struct store *s;
	const char *key;
	size_t key_len;
	struct hist_pos *ring;
	size_t max, n, head;	/* ring of the last max matches; head = oldest */
	bool unbounded;
};

static int hist_collect(void *arg, uint64_t rec_off, const struct sj_batch *b,
			struct store_error *err)
{
	struct hist_ctx *h = arg;
	const uint8_t *q = b->ops;
	uint32_t i;

	for (i = 0; i < b->n_ops; i++) {
		struct sj_op op;

		sj_op_decode(&q, &op);
		if (op.key_len != h->key_len || memcmp(op.key, h->key, h->key_len))
			continue;
		if (h->n == h->max) {
			struct hist_pos *nr;
			size_t ncap;

			if (!h->unbounded) {
				h->ring[h->head] = (struct hist_pos){ rec_off, i };
				h->head = (h->head + 1) % h->max;
				continue;
			}
			ncap = h->max ? h->max * 2 : 16;
			nr = realloc(h->ring, ncap * sizeof(*nr));
			if (!nr)
				return se_set(err, -ENOMEM, rec_off, "out of memory");
			h->ring = nr;
			h->max = ncap;
		}
		h->ring[(h->head + h->n) % h->max] = (struct hist_pos){ rec_off, i };
		h->n++;
	}
	return 0;
}

static int hist_emit(struct store *s, struct sj_reader *rd, const struct hist_pos *pos,
		     store_entry_cb cb, void *arg, struct store_error *err)
{
	const uint8_t *p, *q;
	char origin[STORE_HOST_MAX + 1];
	struct store_entry e;
	struct sj_batch b;
	struct sj_op op;
	const char *why;
	char *key;
	uint32_t len, i;
	int ret;

	ret = sj_reader_get(rd, pos->rec_off, SJ_REC_HDR, &p);
	if (!ret) {
		len = sj_get32(p + 4);
		ret = sj_reader_get(rd, pos->rec_off, SJ_REC_HDR + (size_t)len, &p);
	}
	if (ret)
		return se_set(err, ret, pos->rec_off, "%s: reading record at %llu: %s",
			      s->path, (unsigned long long)pos->rec_off, strerror(-ret));
	if (sj_frame_check(s->hdr.salt, p, SJ_REC_HDR + (uint64_t)len, &len) != SJ_FRAME_OK ||
	    sj_batch_parse(p + SJ_REC_HDR, len, s->names, &b, &why))
		return se_set(err, -EUCLEAN, pos->rec_off,
			      "%s: record at %llu changed while reading history", s->path,
			      (unsigned long long)pos->rec_off);
	q = b.ops;
	for (i = 0; i <= pos->op; i++)
		sj_op_decode(&q, &op);
	key = strndup(op.key, op.key_len);
	if (!key)
		return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
	e.key = key;
	e.key_len = op.key_len;
	e.value = op.value_len ? op.value : NULL;
	e.value_len = op.value_len;
	e.ts = op.ts;
	e.tombstone = op.kind == STORE_DELETE;
	e.offset = pos->rec_off;
	memcpy(origin, b.names[op.origin].p, b.names[op.origin].len);
	origin[b.names[op.origin].len] = '\0';
	e.origin = origin;
	ret = cb(&e, arg);
	free(key);
	return ret;
}

int store_history(struct store *s, const char *key, size_t max,
		  store_entry_cb cb, void *arg, struct store_error *err)
{
	struct hist_ctx h = { .s = s, .key = key };
	struct sj_scan_result r;
	struct sj_reader rd;
	size_t i;
	int ret;

	ret = store_key_validate(key, err);
	if (ret)
		return ret;
	if (!s->have_header)
		return 0;
	h.key_len = strlen(key);
	h.max = max;
	h.unbounded = max == 0;
	if (max) {
		h.ring = calloc(max, sizeof(*h.ring));
		if (!h.ring)
			return se_set(err, -ENOMEM, STORE_NO_OFFSET, "out of memory");
	}
	/* Scan only what this handle recovered: bytes past s->end may be a record a
	 * writer is appending right now. */
	sj_reader_init(&rd, s->fd, s->end);
	ret = sj_scan(&rd, s->hdr.salt, s->names, hist_collect, &h, &r, err);
	if (!ret && r.end != SJ_END_CLEAN)
		ret = se_set(err, -EUCLEAN, r.bad_off,
			     "%s: %s at offset %llu while reading history", s->path,
			     r.reason, (unsigned long long)r.bad_off);
	for (i = 0; !ret && i < h.n; i++)
		ret = hist_emit(s, &rd, &h.ring[(h.head + i) % h.max], cb, arg, err);
	sj_reader_free(&rd);
	free(h.ring);
	return ret;
}

void store_stats(struct store *s, struct store_stats *st)
{
	uint64_t body = s->end > SJ_HDR_SIZE ? s->end - SJ_HDR_SIZE : 0;

	memset(st, 0, sizeof(*st));
	st->file_bytes = s->end;
	st->live_bytes = s->live_bytes;
	st->dead_bytes = body > s->live_bytes ? body - s->live_bytes : 0;
	st->records = s->records;
	st->keys = s->idx.count;
	st->tombstones = s->tombstones;
	st->clock = s->clock;
	st->salt = s->hdr.salt;
	st->generation = s->hdr.generation;
	st->purge_floor = s->hdr.purge_floor;
	st->safe_ts = s->safe_ts;
	st->created_ns = s->hdr.created_ns;
	st->torn_offset = s->torn_off;
	st->torn_bytes = s->torn_bytes;
	st->torn_reason = s->torn_reason;
	st->host = s->host;
	st->readonly = s->readonly;
	st->failed = s->failed;
}

int store_set_tombstone_safe_ts(struct store *s, uint64_t safe_ts)
{
	s->safe_ts = safe_ts;
	return 0;
}

const char *store_host(const struct store *s)
{
	return s->host;
}

uint64_t store_clock(const struct store *s)
{
	return s->clock;
}
