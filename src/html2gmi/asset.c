/*
 * asset.c: the local images a site's pages link to, copied into the
 * capsule at the same path, so that the gemtext's image links lead
 * somewhere.  Only image files inside the site directory (after
 * symbolic links), no hidden ones, at most H2G_SITE_ASSETS of them and
 * H2G_FILE_MAX bytes each.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "html2gmi.h"

static bool
is_image_name(const char *path)
{
	static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".gif",
	    ".webp", ".svg", ".avif", ".bmp", ".ico" };
	const char	*dot = strrchr(path, '.');
	size_t		 i;

	if (dot == NULL || strchr(dot, '/') != NULL)
		return false;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strcasecmp(dot, ext[i]) == 0)
			return true;
	return false;
}

/* -1 when out of memory; a site directory realpath cannot resolve
 * otherwise has no images to copy. */
int
assets_init(struct assets *a, const char *sitedir)
{
	memset(a, 0, sizeof(*a));
	a->sitedir = sitedir;
	a->realdir = realpath(sitedir, NULL);
	return a->realdir == NULL && errno == ENOMEM ? -1 : 0;
}

/* Forget the images found so far (a new pass over the pages). */
void
assets_reset(struct assets *a)
{
	size_t i;

	for (i = 0; i < a->len; i++)
		free(a->v[i]);
	a->len = 0;
}

void
assets_free(struct assets *a)
{
	assets_reset(a);
	free(a->v);
	free(a->realdir);
	memset(a, 0, sizeof(*a));
}

/* Is the file at the site path an image we may copy?  Out of memory,
 * a->oom is set. */
static bool
copyable(struct assets *a, const char *path)
{
	struct buf	 full;
	struct stat	 st;
	char		*real = NULL;
	const char	*c;
	size_t		 n;
	bool		 ok = false;

	if (a->realdir == NULL || *path == '\0' || *path == '/' ||
	    !is_image_name(path))
		return false;
	/* No hidden component: site mode reads none of them. */
	for (c = path; c != NULL; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (*c == '.')
			return false;
	}
	buf_init(&full);
	if (buf_printf(&full, "%s/%s", a->sitedir, path) == -1)
		a->oom = true;
	else if (stat(full.data, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= H2G_FILE_MAX) {
		if ((real = realpath(full.data, NULL)) == NULL &&
		    errno == ENOMEM)
			a->oom = true;
	}
	if (real != NULL) {
		n = strlen(a->realdir);
		/* A symbolic link out of the site is not followed out. */
		ok = strncmp(real, a->realdir, n) == 0 && (real[n] == '/' ||
		    strcmp(a->realdir, "/") == 0);
	}
	free(real);
	buf_free(&full);
	return ok;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The capsule path of the image at the site path (the same), noted for
 * assets_copy; NULL when it is not a local image to copy, or, a->oom
 * set, when out of memory.
 */
const char *
assets_find(struct assets *a, const char *path)
{
	char	**hit, **v;
	size_t	  lo = 0, hi = a->len, mid;
	int	  c;

	if (a->len > 0 && (hit = bsearch(&path, a->v, a->len, sizeof(*a->v),
	    cmp_path)) != NULL)
		return *hit;
	if (a->len >= H2G_SITE_ASSETS || !copyable(a, path))
		return NULL;
	if (a->len == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;

		if ((v = realloc(a->v, cap * sizeof(*v))) == NULL) {
			a->oom = true;
			return NULL;
		}
		a->v = v;
		a->cap = cap;
	}
	while (lo < hi) {		/* kept sorted for bsearch */
		mid = lo + (hi - lo) / 2;
		c = strcmp(a->v[mid], path);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(a->v + lo + 1, a->v + lo, (a->len - lo) * sizeof(*a->v));
	if ((a->v[lo] = strdup(path)) == NULL) {
		memmove(a->v + lo, a->v + lo + 1, (a->len - lo) *
		    sizeof(*a->v));
		a->oom = true;
		return NULL;
	}
	a->len++;
	return a->v[lo];
}

/* Copy every noted image into the capsule being built. */
int
assets_copy(const struct assets *a, struct outdir *od)
{
	struct buf	 full, data, why;
	size_t		 i;
	int		 r, rc = 0;

	buf_init(&full);
	buf_init(&data);
	buf_init(&why);
	for (i = 0; rc == 0 && i < a->len; i++) {
		buf_reset(&full);
		buf_reset(&data);
		buf_reset(&why);
		if (buf_printf(&full, "%s/%s", a->sitedir, a->v[i]) == -1) {
			rc = -1;
			break;
		}
		/* Noted at most H2G_FILE_MAX bytes: more now, it grew. */
		if ((r = h2g_read_file(full.data, &data, H2G_FILE_MAX,
		    &why)) < 0) {
			fprintf(stderr, "html2gmi: %s: %s; %s is left as it "
			    "was\n", full.data, r == -2 ? "grew too large "
			    "while copied" : why.data, od->out);
			rc = -1;
		}
		if (rc == 0)
			rc = outdir_write(od, a->v[i], &data);
	}
	buf_free(&full);
	buf_free(&data);
	buf_free(&why);
	return rc;
}
