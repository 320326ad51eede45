/*
 * capsule.c: the directory tree being served: resolving a request path
 * strictly inside the root, what it names there (a file, from the cache,
 * or a directory), and the cache of file contents.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsule.h"

#define CACHE_BUCKETS	1024
#define CACHE_TOTAL_MAX	(64 * 1024 * 1024)	/* bytes of cached files */
#define SYMLINK_HOPS_MAX 40			/* links in one path, as ELOOP */

/* One host's root, opened before the worker's chroot, and its cache:
 * every path is resolved beneath rootfd, never by name from "/". */
struct capsule {
	int		 rootfd;
	struct cfile	*cache[CACHE_BUCKETS];
};

/* Bytes cached by all capsules: one budget, so that serving more hosts
 * takes no more memory than one did. */
static size_t		 cache_bytes;

/* What every capsule shares, loaded once before any request: the MIME
 * types' database. */
int
capsule_init(const char **err)
{
	return mime_init(err);
}

void
capsule_close(void)
{
	mime_close();
}

/* The capsule at root, with an empty cache; NULL with the reason. */
struct capsule *
capsule_open(const char *root, const char **err)
{
	struct capsule	*cap;

	if ((cap = calloc(1, sizeof(*cap))) == NULL) {
		*err = "out of memory";
		return NULL;
	}
	if ((cap->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	    == -1) {
		*err = strerror(errno);
		free(cap);
		return NULL;
	}
	return cap;
}

/* Close it; a cached file a response still holds is freed with it. */
void
capsule_free(struct capsule *cap)
{
	if (cap == NULL)
		return;
	capsule_flush(cap);
	close(cap->rootfd);
	free(cap);
}

bool
is_gemtext_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL && (strcmp(dot, ".gmi") == 0 ||
	    strcmp(dot, ".gemini") == 0);
}

/*
 * Read size bytes of fd into b (replacing what it held).  A file that
 * shrinks under us is an error, not a short page.
 */
int
capsule_read(int fd, off_t size, struct buf *b)
{
	ssize_t	 r;
	size_t	 got = 0;

	buf_reset(b);
	if (size < 0 || buf_reserve(b, (size_t)size) == -1)
		return -1;
	while (got < (size_t)size) {
		r = pread(fd, b->data + got, (size_t)size - got, (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	b->len = got;
	b->data[got] = '\0';
	return 0;
}

/*
 * The path a request names (from the root; ".", ".." and leading
 * slashes allowed), resolved one name at a time as the kernel would
 * beneath the root: out gets it without any symbolic link, "." or "..",
 * relative to the root ("." for the root itself).  The dotfile rule holds
 * for every name on the way, those a link leads to included, so that no
 * link makes .git/config or .ssh/ public.  -1 with errno: ENOENT for a
 * hidden name, EXDEV for a way out (an absolute link, ".." above the
 * root), ELOOP, or what fstatat(2) or readlinkat(2) said.
 */
static int
resolve_beneath(int rootfd, const char *path, struct buf *out)
{
	struct buf	 todo, next;
	struct stat	 st;
	const char	*p, *end;
	char		 target[PATH_MAX], *slash;
	ssize_t		 n;
	size_t		 len, keep, hops = 0;
	int		 r = -1;

	buf_init(&todo);
	buf_reset(out);
	if (buf_puts(&todo, path) == -1 || buf_reserve(out, 0) == -1)
		goto out;
	for (p = todo.data; ; p = end) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len == 1 && p[0] == '.')
			continue;
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (out->len == 0) {
				errno = EXDEV;
				goto out;
			}
			slash = strrchr(out->data, '/');
			out->len = slash ? (size_t)(slash - out->data) : 0;
			out->data[out->len] = '\0';
			continue;
		}
		if (p[0] == '.') {	/* a dotfile, however it was reached */
			errno = ENOENT;
			goto out;
		}
		keep = out->len;
		if ((keep > 0 && buf_putc(out, '/') == -1) ||
		    buf_append(out, p, len) == -1)
			goto out;
		if (fstatat(rootfd, out->data, &st, AT_SYMLINK_NOFOLLOW) == -1)
			goto out;
		if (!S_ISLNK(st.st_mode))
			continue;
		if (++hops > SYMLINK_HOPS_MAX) {
			errno = ELOOP;
			goto out;
		}
		n = readlinkat(rootfd, out->data, target, sizeof(target));
		if (n == -1)
			goto out;
		if (n == 0 || (size_t)n == sizeof(target) || target[0] == '/') {
			errno = n > 0 && target[0] == '/' ? EXDEV : ENAMETOOLONG;
			goto out;
		}
		out->len = keep;
		out->data[keep] = '\0';
		/* The link's target, then what followed the link. */
		buf_init(&next);
		if (buf_append(&next, target, (size_t)n) == -1 ||
		    buf_putc(&next, '/') == -1 || buf_puts(&next, end) == -1) {
			buf_free(&next);
			goto out;
		}
		buf_free(&todo);
		todo = next;
		end = todo.data;
	}
	r = out->len == 0 ? buf_putc(out, '.') : 0;
out:
	buf_free(&todo);
	return r;
}

/*
 * Open path (relative to the root, leading slashes ignored) as resolved
 * above, so that no "..", absolute symlink, magic link or hidden name
 * leads anywhere; the kernel opens the resolved path with no link at all
 * (RESOLVE_NO_SYMLINKS), so that a link swapped in meanwhile fails.
 */
int
capsule_open_beneath(const struct capsule *cap, const char *path, int flags)
{
	struct open_how	 how;
	struct buf	 real;
	int		 fd = -1, e;

	buf_init(&real);
	if (resolve_beneath(cap->rootfd, path, &real) == 0) {
		memset(&how, 0, sizeof(how));
		/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
		if (!(flags & O_PATH))
			flags |= O_NOCTTY | O_NONBLOCK;
		how.flags = (uint64_t)(flags | O_CLOEXEC);
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS;
		fd = (int)syscall(SYS_openat2, cap->rootfd, real.data, &how,
		    sizeof(how));
	}
	e = errno;
	buf_free(&real);
	errno = e;
	return fd;
}

/* A segment starting with "." is private to the capsule's owner. */
static bool
has_hidden_segment(const char *path)
{
	const char *p;

	for (p = path; (p = strchr(p, '/')) != NULL; p++)
		if (p[1] == '.')
			return true;
	return path[0] == '.';
}

/* A file's bucket: the cache knows files, not the names reaching them. */
static unsigned
hash(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15u) ^ (uint64_t)ino;

	return (unsigned)((h ^ (h >> 29)) % CACHE_BUCKETS);
}

static void
cfile_free(struct cfile *f)
{
	int i;

	for (i = 0; i < CFILE_DERIVED; i++) {
		blob_release(f->derived[i]);
		free(f->derivedkey[i]);
	}
	free(f->data);
	free(f);
}

/* Bytes a cache entry holds, its derived forms included. */
static size_t
cfile_bytes(const struct cfile *f)
{
	size_t	 n = f->data != NULL ? f->size : 0;
	int	 i;

	for (i = 0; i < CFILE_DERIVED; i++)
		n += f->derived[i] ? f->derived[i]->len : 0;
	return n;
}

/* The form number slot made from f for key, referenced, or NULL. */
struct blob *
capsule_derived(const struct cfile *f, int slot, const char *key)
{
	if (f == NULL || slot < 0 || slot >= CFILE_DERIVED ||
	    f->derived[slot] == NULL || strcmp(f->derivedkey[slot], key) != 0)
		return NULL;
	return blob_ref(f->derived[slot]);
}

/*
 * Keep bl, a form made from f for key, when the cache has room.  The
 * slot takes its own reference; the form it held is released, not freed
 * under a response still sending it.
 */
void
capsule_derive(struct cfile *f, int slot, const char *key, struct blob *bl)
{
	size_t	 old;
	char	*k;

	if (f == NULL || bl == NULL || f->stale || slot < 0 ||
	    slot >= CFILE_DERIVED)
		return;
	old = f->derived[slot] ? f->derived[slot]->len : 0;
	if (cache_bytes - old + bl->len > CACHE_TOTAL_MAX ||
	    (k = strdup(key)) == NULL)
		return;
	cache_bytes -= old;
	blob_release(f->derived[slot]);
	free(f->derivedkey[slot]);
	f->derived[slot] = blob_ref(bl);
	f->derivedkey[slot] = k;
	cache_bytes += bl->len;
}

void
capsule_release(struct cfile *f)
{
	if (f == NULL)
		return;
	if (--f->refs == 0 && f->stale)
		cfile_free(f);
}

static void
cache_unlink(struct cfile **pp)
{
	struct cfile *f = *pp;

	*pp = f->next;
	f->next = NULL;
	cache_bytes -= cfile_bytes(f);
	f->stale = true;
	if (f->refs == 0)
		cfile_free(f);
}

void
capsule_flush(struct capsule *cap)
{
	size_t i;

	for (i = 0; i < CACHE_BUCKETS; i++)
		while (cap->cache[i] != NULL)
			cache_unlink(&cap->cache[i]);
}

/*
 * A new cache entry for the open file fd: its contents when it is small
 * enough to keep, else only what is known of it (size, type) and, later,
 * the forms made from it, while its bytes are streamed from fd.  Inserted
 * when the cache has room, else served once and freed.
 */
static struct cfile *
cache_fill(struct capsule *cap, int fd, const struct stat *st)
{
	struct cfile	*f;
	struct buf	 b;
	unsigned	 h;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->size = (size_t)st->st_size;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->mtime = st->st_mtim;
	f->refs = 1;
	if (st->st_size > CACHE_FILE_MAX)
		mime_by_head(fd, f->mime, sizeof(f->mime));
	else {
		buf_init(&b);
		if (capsule_read(fd, st->st_size, &b) == -1) {
			buf_free(&b);
			cfile_free(f);
			return NULL;
		}
		f->data = buf_steal(&b);	/* allocated: never NULL */
		mime_by_contents(f->data, f->size, f->mime, sizeof(f->mime));
	}
	if (cache_bytes + cfile_bytes(f) > CACHE_TOTAL_MAX) {
		f->stale = true;	/* served once, then freed */
		return f;
	}
	h = hash(f->dev, f->ino);
	f->next = cap->cache[h];
	cap->cache[h] = f;
	cache_bytes += cfile_bytes(f);
	return f;
}

static bool
cfile_fresh(const struct cfile *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino &&
	    f->size == (size_t)st->st_size &&
	    f->mtime.tv_sec == st->st_mtim.tv_sec &&
	    f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * Serve the open regular file fd, reached by the name name, from the
 * cache if fresh.  The cache is keyed by device and inode, so that every
 * name of a file (links, a directory linked to itself) is one entry; the
 * type comes from the name when it says one, else from the contents.  A
 * large file's entry holds no bytes: lk->fd stays open to stream them.
 */
static int
lookup_file(struct capsule *cap, const char *name, int fd,
    const struct stat *st, struct lookup *lk)
{
	struct cfile	**pp, *f = NULL;

	if (secrets_is(st)) {	/* a key or the log, however reached */
		close(fd);
		lk->kind = CAP_NOT_FOUND;
		return -1;
	}
	for (pp = &cap->cache[hash(st->st_dev, st->st_ino)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if ((*pp)->dev != st->st_dev || (*pp)->ino != st->st_ino)
			continue;
		if (cfile_fresh(*pp, st)) {
			f = *pp;
			f->refs++;
		} else
			cache_unlink(pp);
		break;
	}
	if (f == NULL && (f = cache_fill(cap, fd, st)) == NULL) {
		close(fd);
		lk->kind = CAP_ERROR;
		return -1;
	}
	lk->file = f;
	lk->kind = CAP_FILE;
	if (!mime_by_name(name, lk->mime, sizeof(lk->mime)))
		snprintf(lk->mime, sizeof(lk->mime), "%s", f->mime);
	if (f->data == NULL) {
		lk->fd = fd;
		lk->size = st->st_size;
	} else
		close(fd);
	return 0;
}

static enum cap_kind
open_error(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return CAP_FORBIDDEN;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case EIO:
		return CAP_ERROR;
	default:	/* ENOENT, ENOTDIR, EXDEV (escape), ELOOP, ... */
		return CAP_NOT_FOUND;
	}
}

/*
 * Find what a path (decoded, starting with "/") names inside the capsule.
 * A directory asked with its slash gives its index.gmi or a listing.
 */
int
capsule_lookup(struct capsule *cap, const char *path, struct lookup *lk)
{
	struct stat	 st;
	struct buf	 idx;
	const char	*err;
	int		 fd, ifd;
	size_t		 n = strlen(path);

	memset(lk, 0, sizeof(*lk));
	lk->fd = -1;
	lk->kind = CAP_NOT_FOUND;
	/* Callers squeeze "//" (url_squeeze_slashes): one entry per file. */
	if (path[0] != '/' || strstr(path, "//") != NULL ||
	    path_check(path, &err) == -1 || has_hidden_segment(path))
		return -1;
	if ((fd = capsule_open_beneath(cap, path, O_RDONLY)) == -1) {
		lk->kind = open_error(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		close(fd);
		lk->kind = CAP_ERROR;
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return lookup_file(cap, path, fd, &st, lk);
	if (!S_ISDIR(st.st_mode)) {	/* FIFOs, devices, sockets */
		close(fd);
		return -1;
	}
	close(fd);
	if (path[n - 1] != '/') {
		lk->kind = CAP_REDIRECT;
		return 0;
	}
	buf_init(&idx);
	if (buf_printf(&idx, "%sindex.gmi", path) == -1) {
		lk->kind = CAP_ERROR;
		return -1;
	}
	ifd = capsule_open_beneath(cap, idx.data, O_RDONLY);
	if (ifd != -1 && fstat(ifd, &st) == 0 && S_ISREG(st.st_mode)) {
		lookup_file(cap, idx.data, ifd, &st, lk);
		buf_free(&idx);
		return lk->kind == CAP_FILE ? 0 : -1;
	}
	if (ifd != -1)
		close(ifd);
	buf_free(&idx);
	lk->kind = CAP_LISTING;
	return 0;
}

/* Give back what a lookup holds: its cache reference and descriptor. */
void
lookup_release(struct lookup *lk)
{
	capsule_release(lk->file);
	lk->file = NULL;
	if (lk->fd != -1)
		close(lk->fd);
	lk->fd = -1;
}

/* The type of what path names in the capsule cap (a gopher_page's mime). */
int
capsule_mime(void *cap, const char *path, char *out, size_t outsz)
{
	struct lookup lk;

	if (capsule_lookup(cap, path, &lk) == -1 || lk.kind != CAP_FILE) {
		if (lk.kind == CAP_LISTING || lk.kind == CAP_REDIRECT)
			snprintf(out, outsz, "directory");
		return lk.kind == CAP_LISTING || lk.kind == CAP_REDIRECT ?
		    0 : -1;
	}
	snprintf(out, outsz, "%s", lk.mime);
	lookup_release(&lk);
	return 0;
}
