/*
 * capsule.c: the directory tree being served: resolving a request path
 * strictly inside the root, and what it names there: a file (its bytes
 * from the cache, cache.c), a directory, or nothing to serve.
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

#define SYMLINK_HOPS_MAX 40	/* links in one path, as ELOOP */

/* One host's root, opened before the worker's chroot, and its cache:
 * every path is resolved beneath rootfd, never by name from "/". */
struct capsule {
	int		 rootfd;
	struct cache	*cache;
};

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

	if ((cap = calloc(1, sizeof(*cap))) == NULL ||
	    (cap->cache = cache_new()) == NULL) {
		free(cap);
		*err = "out of memory";
		return NULL;
	}
	if ((cap->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	    == -1) {
		*err = strerror(errno);
		cache_free(cap->cache);
		free(cap);
		return NULL;
	}
	return cap;
}

/* Close it; a cached file a response still holds is freed when the
 * response releases it. */
void
capsule_free(struct capsule *cap)
{
	if (cap == NULL)
		return;
	cache_free(cap->cache);
	close(cap->rootfd);
	free(cap);
}

/* Forget every cached file (SIGHUP): the next request reads them anew. */
void
capsule_flush(struct capsule *cap)
{
	cache_flush(cap->cache);
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
		buf_append(&next, target, (size_t)n);
		buf_putc(&next, '/');
		buf_puts(&next, end);
		if (buf_status(&next) == -1) {
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

/*
 * The open regular file fd, reached by the name name, from the cache
 * (cache.c); the type comes from the name when it says one, else from
 * the contents.  A large file's entry holds no bytes: lk->fd stays open
 * to stream them.  fd is the lookup's or closed.
 */
static enum cap_kind
lookup_file(struct capsule *cap, const char *name, int fd,
    const struct stat *st, struct lookup *lk)
{
	if (secrets_is(st)) {	/* a key or the log, however reached */
		close(fd);
		return CAP_NOT_FOUND;
	}
	if ((lk->file = cache_get(cap->cache, fd, st)) == NULL) {
		close(fd);
		return CAP_ERROR;
	}
	lk->size = st->st_size;
	if (!mime_by_name(name, lk->mime, sizeof(lk->mime)))
		snprintf(lk->mime, sizeof(lk->mime), "%s",
		    cfile_mime(lk->file));
	if (cfile_data(lk->file) == NULL)
		lk->fd = fd;
	else
		close(fd);
	return CAP_FILE;
}

/* A directory asked with its slash: its index.gmi, else a listing. */
static enum cap_kind
lookup_index(struct capsule *cap, const char *dir, struct lookup *lk)
{
	struct stat	 st;
	struct buf	 idx;
	enum cap_kind	 kind = CAP_LISTING;
	int		 fd;

	buf_init(&idx);
	if (buf_printf(&idx, "%sindex.gmi", dir) == -1) {
		buf_free(&idx);
		return CAP_ERROR;
	}
	fd = capsule_open_beneath(cap, idx.data, O_RDONLY);
	if (fd != -1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		kind = lookup_file(cap, idx.data, fd, &st, lk);
	else if (fd != -1)
		close(fd);
	buf_free(&idx);
	return kind;
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
 * What a path (decoded, starting with "/") names inside the capsule.  A
 * directory asked with its slash gives its index.gmi or a listing.  lk
 * holds what a CAP_FILE needs (lookup_release() it, whatever the kind).
 */
enum cap_kind
capsule_lookup(struct capsule *cap, const char *path, struct lookup *lk)
{
	struct stat	 st;
	const char	*err;
	int		 fd;

	memset(lk, 0, sizeof(*lk));
	lk->fd = -1;
	/* Callers squeeze "//" (url_squeeze_slashes): one entry per file. */
	if (path[0] != '/' || strstr(path, "//") != NULL ||
	    path_check(path, &err) == -1 || has_hidden_segment(path))
		return CAP_NOT_FOUND;
	if ((fd = capsule_open_beneath(cap, path, O_RDONLY)) == -1)
		return open_error(errno);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return CAP_ERROR;
	}
	if (S_ISREG(st.st_mode))
		return lookup_file(cap, path, fd, &st, lk);
	close(fd);
	if (!S_ISDIR(st.st_mode))	/* FIFOs, devices, sockets */
		return CAP_NOT_FOUND;
	if (path[strlen(path) - 1] != '/')
		return CAP_REDIRECT;
	return lookup_index(cap, path, lk);
}

/* Give back what a lookup holds: its cache reference and descriptor. */
void
lookup_release(struct lookup *lk)
{
	cfile_release(lk->file);
	lk->file = NULL;
	if (lk->fd != -1)
		close(lk->fd);
	lk->fd = -1;
}

/* The type of what path names in the capsule cap (a gopher_page's mime). */
int
capsule_mime(void *cap, const char *path, char *out, size_t outsz)
{
	struct lookup	 lk;
	int		 r = 0;

	switch (capsule_lookup(cap, path, &lk)) {
	case CAP_FILE:
		snprintf(out, outsz, "%s", lk.mime);
		break;
	case CAP_LISTING:
	case CAP_REDIRECT:
		snprintf(out, outsz, "directory");
		break;
	default:
		r = -1;
		break;
	}
	lookup_release(&lk);
	return r;
}
