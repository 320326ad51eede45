/*
 * walk.c: the files of a directory tree, for site mode (its HTML pages)
 * and gemlog mode (its gemtext articles): names sorted so that every run
 * is the same, hidden files skipped (our temporaries among them), a
 * symbolic link back to a directory above not followed (a loop), and at
 * most H2G_SITE_DEPTH levels deep.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "html2gmi.h"

/* The directories from the tree's root down to the one being read. */
struct dirchain {
	const struct dirchain	*up;
	dev_t			 dev;
	ino_t			 ino;
};

struct walk {
	const char	*root;
	bool		(*want)(const char *);
	int		(*add)(void *, const char *, const char *);
	void		*arg;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in d but hidden ones, sorted, into *names (n of them). */
static int
read_names(DIR *d, char ***names, size_t *n)
{
	struct dirent	*e;
	char		**nn;
	size_t		 cap = 0;

	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;	/* hidden files and our temporaries */
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nn = realloc(*names, cap * sizeof(*nn))) == NULL)
				return -1;
			*names = nn;
		}
		if (((*names)[*n] = strdup(e->d_name)) == NULL)
			return -1;
		(*n)++;
	}
	qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
}

static int
scan(const struct walk *w, const char *rel, int depth,
    const struct dirchain *up)
{
	struct dirchain		 here;
	const struct dirchain	*c;
	struct buf	 path, sub;
	DIR		*d;
	struct stat	 st;
	char		**names = NULL;
	size_t		 n = 0, i;
	int		 r = -1;

	buf_init(&path);
	buf_init(&sub);
	if (buf_printf(&path, "%s%s%s", w->root, *rel ? "/" : "", rel) ==
	    -1) {
		fprintf(stderr, "html2gmi: %s%s%s: out of memory\n", w->root,
		    *rel ? "/" : "", rel);
		goto out;
	}
	if ((d = opendir(path.data)) == NULL) {
		fprintf(stderr, "html2gmi: %s: %s\n", path.data,
		    strerror(errno));
		goto out;
	}
	if (fstat(dirfd(d), &st) == -1) {
		fprintf(stderr, "html2gmi: %s: %s\n", path.data,
		    strerror(errno));
		goto out_close;
	}
	for (c = up; c != NULL; c = c->up)
		if (c->dev == st.st_dev && c->ino == st.st_ino) {
			r = 0;
			goto out_close;
		}
	here.up = up;
	here.dev = st.st_dev;
	here.ino = st.st_ino;
	if (read_names(d, &names, &n) == -1)
		goto oom;
	r = 0;
	for (i = 0; r == 0 && i < n; i++) {
		buf_reset(&sub);
		buf_reset(&path);
		if (buf_printf(&sub, "%s%s%s", rel, *rel ? "/" : "",
		    names[i]) == -1 ||
		    buf_printf(&path, "%s/%s", w->root, sub.data) == -1)
			goto oom;
		if (stat(path.data, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode) && depth < H2G_SITE_DEPTH)
			r = scan(w, sub.data, depth + 1, &here);
		else if (S_ISREG(st.st_mode) && w->want(names[i]))
			r = w->add(w->arg, w->root, sub.data);
	}
	goto out_close;
oom:
	fprintf(stderr, "html2gmi: %s%s%s: out of memory\n", w->root,
	    *rel ? "/" : "", rel);
	r = -1;
out_close:
	closedir(d);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_free(&path);
	buf_free(&sub);
	return r;
}

/*
 * Call add(arg, root, path) for every regular file below root whose name
 * want() takes, path relative to root, in sorted order.  Returns 0, or -1
 * when a directory cannot be read (said on stderr) or add() fails.
 */
int
walk_tree(const char *root, bool (*want)(const char *),
    int (*add)(void *, const char *, const char *), void *arg)
{
	struct walk w = { root, want, add, arg };

	return scan(&w, "", 0, NULL);
}
