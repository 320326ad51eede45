/*
 * cache.c: the cache of a capsule's files, by device and inode, so that
 * every name of a file (links, a directory linked to itself) is one
 * entry.  An entry holds a small file's bytes, its type from its
 * contents, and the forms made from it (a Gopher menu, its text); a large
 * file's entry holds no bytes, which are streamed.  Entries are counted:
 * a lookup and each response sending one hold a reference, and one
 * unlinked (changed on disk, flushed) is freed when the last goes.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "capsule.h"

#define CACHE_BUCKETS	1024
#define CACHE_TOTAL_MAX	(64 * 1024 * 1024)	/* bytes of cached files */

struct cfile {
	char		*data;			/* NULL: too large, streamed */
	size_t		 size;
	char		 mime[MIME_MAX];	/* from its contents */
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 mtime;
	int		 refs;
	bool		 stale;			/* unlinked, freed at refs 0 */
	struct cfile	*next;
	/* Forms made from it, with the key they were made for, so that a
	 * request costs no re-render.  Shared with the responses sending
	 * them: replacing one frees nothing in use. */
	struct blob	*derived[CFILE_DERIVED];
	char		*derivedkey[CFILE_DERIVED];
};

struct cache {
	struct cfile	*bucket[CACHE_BUCKETS];
};

/* Bytes cached by all capsules: one budget, so that serving more hosts
 * takes no more memory than one did. */
static size_t		 cache_bytes;

struct cache *
cache_new(void)
{
	return calloc(1, sizeof(struct cache));
}

/* Free it; a file a response still holds is freed when released. */
void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	cache_flush(c);
	free(c);
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

/* The file's bytes, or NULL when it is too large to keep (stream it). */
const char *
cfile_data(const struct cfile *f)
{
	return f->data;
}

size_t
cfile_size(const struct cfile *f)
{
	return f->size;
}

/* Its type as libmagic reads its contents (the name may say better). */
const char *
cfile_mime(const struct cfile *f)
{
	return f->mime;
}

/* The form number slot made from f for key, referenced, or NULL. */
struct blob *
cfile_derived(const struct cfile *f, int slot, const char *key)
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
cfile_derive(struct cfile *f, int slot, const char *key, struct blob *bl)
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

/* One more holder of f; each gives it back with cfile_release(). */
struct cfile *
cfile_ref(struct cfile *f)
{
	if (f != NULL)
		f->refs++;
	return f;
}

void
cfile_release(struct cfile *f)
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
cache_flush(struct cache *c)
{
	size_t i;

	for (i = 0; i < CACHE_BUCKETS; i++)
		while (c->bucket[i] != NULL)
			cache_unlink(&c->bucket[i]);
}

/*
 * A new cache entry for the open file fd: its contents when it is small
 * enough to keep, else only what is known of it (size, type) and, later,
 * the forms made from it, while its bytes are streamed from fd.  Inserted
 * when the cache has room, else served once and freed.
 */
static struct cfile *
cache_fill(struct cache *c, int fd, const struct stat *st)
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
		if (buf_pread(&b, fd, st->st_size) == -1) {
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
	f->next = c->bucket[h];
	c->bucket[h] = f;
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
 * The entry of the open regular file fd (st its fstat), referenced: the
 * cached one while it is fresh, else a new one read from fd.  NULL when
 * out of memory or the file cannot be read.
 */
struct cfile *
cache_get(struct cache *c, int fd, const struct stat *st)
{
	struct cfile **pp;

	for (pp = &c->bucket[hash(st->st_dev, st->st_ino)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if ((*pp)->dev != st->st_dev || (*pp)->ino != st->st_ino)
			continue;
		if (cfile_fresh(*pp, st))
			return cfile_ref(*pp);
		cache_unlink(pp);
		break;
	}
	return cache_fill(c, fd, st);
}
