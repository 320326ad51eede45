/*
 * listing.c: the gemtext page a directory without index.gmi gets when
 * listings are on: its entries a request could reach, sorted, each a
 * link labelled with its page's title where it has one.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsule.h"

#define LISTING_MAX	10000		/* entries in one listing */
#define TITLE_PEEK	(16 * 1024)	/* of a large page, for its title */

struct entry {
	char	*name;
	bool	 dir;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
	    ((const struct entry *)b)->name);
}

/*
 * The link to entry e of dir; a page's label is its title, else its name
 * (also when the title cannot be read, for want of memory or otherwise).
 */
static void
add_entry_link(struct capsule *cap, struct gmi_doc *doc, const char *dir,
    const struct entry *e)
{
	struct buf	 url, path;
	struct lookup	 lk;
	struct gmi_doc	 page;
	const char	*label = e->name;
	char		 head[TITLE_PEEK];
	ssize_t		 n;
	int		 parsed = -1;

	buf_init(&url);
	buf_init(&path);
	gmi_init(&page);
	/* "a:b.gmi" would read as a URL of the scheme "a" (RFC 3986, 4.2). */
	if (strchr(e->name, ':') != NULL)
		buf_puts(&url, "./");
	url_encode_path(&url, e->name);
	if (e->dir)
		buf_putc(&url, '/');
	buf_printf(&path, "%s%s", dir, e->name);
	if (buf_status(&url) == -1 || buf_status(&path) == -1) {
		gmi_fail(doc);
		goto out;
	}
	memset(&lk, 0, sizeof(lk));
	lk.fd = -1;
	if (!e->dir && gemtext_name(e->name) &&
	    capsule_lookup(cap, path.data, &lk) == CAP_FILE) {
		if (cfile_data(lk.file) != NULL)
			parsed = gmi_parse(&page, cfile_data(lk.file),
			    (size_t)lk.size);
		else if (lk.fd != -1) {
			/* Too large to cache: its head holds the title. */
			n = pread(lk.fd, head, sizeof(head), 0);
			parsed = gmi_parse(&page, head, n > 0 ? (size_t)n : 0);
		}
		if (parsed == 0 && gmi_title(&page) != NULL)
			label = gmi_title(&page);
	}
	gmi_add_link(doc, url.data, label);
	lookup_release(&lk);
out:
	gmi_free(&page);
	buf_free(&url);
	buf_free(&path);
}

enum shown { SHOWN_NOT, SHOWN_FILE, SHOWN_DIR, SHOWN_NO_MEMORY };

/*
 * Whether a listing shows dir/name: only what a request could reach (no
 * symlink leading outside), files and directories.  Out of memory is
 * told apart: an entry left out for it would be a listing that lies.
 */
static enum shown
listed_kind(const struct capsule *cap, const char *dir, const char *name)
{
	struct buf	 p;
	struct stat	 st;
	enum shown	 r = SHOWN_NOT;
	int		 fd;

	buf_init(&p);
	if (buf_printf(&p, "%s%s", dir, name) == -1)
		r = SHOWN_NO_MEMORY;
	else if ((fd = capsule_open_beneath(cap, p.data, O_PATH)) == -1) {
		if (errno == ENOMEM)
			r = SHOWN_NO_MEMORY;
	} else {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			r = secrets_is(&st) ? SHOWN_NOT : SHOWN_FILE;
		else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			r = SHOWN_DIR;
		close(fd);
	}
	buf_free(&p);
	return r;
}

/* A gemtext listing of directory dir (a path ending in "/"). */
int
capsule_listing(struct capsule *cap, const char *dir, struct gmi_doc *doc)
{
	struct entry	*ents = NULL, *e;
	struct dirent	*de;
	DIR		*d;
	size_t		 n = 0, nalloc = 0, i;
	enum shown	 kind;
	int		 fd, r = -1;

	if ((fd = capsule_open_beneath(cap, dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL && n < LISTING_MAX) {
		/* Not what no request can name: its link would get 59. */
		if (de->d_name[0] == '.' || !path_segment_ok(de->d_name))
			continue;
		if ((kind = listed_kind(cap, dir, de->d_name)) == SHOWN_NOT)
			continue;
		if (kind == SHOWN_NO_MEMORY)
			goto out;
		if (n == nalloc) {
			nalloc = nalloc ? nalloc * 2 : 32;
			if ((e = realloc(ents, nalloc * sizeof(*e))) == NULL)
				goto out;
			ents = e;
		}
		if ((ents[n].name = strdup(de->d_name)) == NULL)
			goto out;
		ents[n++].dir = kind == SHOWN_DIR;
	}
	if (n > 0)	/* ents is NULL for an empty directory */
		qsort(ents, n, sizeof(*ents), entry_cmp);
	gmi_printf(doc, GMI_H1, "Index of %s", dir);
	gmi_add(doc, GMI_TEXT, "", 0);
	if (strcmp(dir, "/") != 0)
		gmi_add_link(doc, "../", "Parent directory");
	/* Each entry is looked up: none once the page has failed. */
	for (i = 0; i < n && gmi_status(doc) == 0; i++)
		add_entry_link(cap, doc, dir, &ents[i]);
	r = gmi_status(doc);
out:
	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	closedir(d);
	return r;
}
