/*
 * capsule.h: what the files serving a capsule share and the protocols
 * do not see: opening a path beneath the root, the cache's insides and
 * the MIME types.  capsule.c, cache.c, mime.c, listing.c and walk.c
 * include it; everything else knows a capsule through lumbar.h.
 */
#ifndef LUMBAR_CAPSULE_H
#define LUMBAR_CAPSULE_H

#include "lumbar.h"

struct stat;

/* capsule.c */
int	 capsule_open_beneath(const struct capsule *, const char *, int);

/* cache.c: one capsule's cached files. */
struct cache;
struct cache *cache_new(void);
void	 cache_free(struct cache *);
void	 cache_flush(struct cache *);
struct cfile *cache_get(struct cache *, int, const struct stat *);
const char *cfile_mime(const struct cfile *);

/* mime.c */
int	 mime_init(const char **);
void	 mime_close(void);
bool	 mime_by_name(const char *, char *, size_t);
void	 mime_by_contents(const char *, size_t, char *, size_t);
void	 mime_by_head(int, char *, size_t);

#endif
