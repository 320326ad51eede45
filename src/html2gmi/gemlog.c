/*
 * gemlog.c: gemlog mode (-g), for a capsule written by hand in gemtext.
 * The dated pages of its articles directory are listed in that
 * directory's index.gmi as site mode lists them ("=> path YYYY-MM-DD
 * Title", newest first) and, with a feed URL, in atom.xml; both written
 * by feed.c.  The index page is the author's: only its entry lines are
 * rewritten, every other line is kept byte for byte, and each file is
 * replaced whole (file_replace), or left alone when nothing changed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "html2gmi.h"

#define GEMLOG_DEFAULT_TITLE	"Articles"	/* a new index, a feed without */

struct post {
	char	*path;		/* inside the capsule */
	char	*title;
	char	*date;		/* YYYY-MM-DD */
	char	*summary;	/* its first line of text, or NULL */
};

struct gemlog {
	const char	*capsule;
	const char	*dir;		/* the articles, inside the capsule */
	struct post	*v;
	size_t		 len;
	size_t		 cap;
};

/* A page lumbar serves as gemtext, other than a directory's index
 * ("index" before the suffix). */
static bool
is_post_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	return gemtext_name(name) &&
	    !(dot - name == 5 && memcmp(name, "index", 5) == 0);
}

/*
 * Does s start with a day, followed by nothing or a separator?  It is
 * copied into d.
 */
static bool
date_prefix(const char *s, char d[static 11])
{
	if (strlen(s) < 10 || isalnum((unsigned char)s[10]))
		return false;
	memcpy(d, s, 10);
	d[10] = '\0';
	return feed_date_ok(d);
}

/* A line that is a date and nothing else, white space aside. */
static bool
date_alone(const char *s)
{
	char d[11];

	while (*s == ' ' || *s == '\t')
		s++;
	if (!date_prefix(s, d))
		return false;
	for (s += 10; *s == ' ' || *s == '\t'; s++)
		;
	return *s == '\0';
}

/*
 * Title, date and summary of one page: its first "# " heading, else its
 * file name less the extension and the date; the date its file name
 * starts with, else the first text or heading line that is only a date;
 * the first other line of text.
 */
static int
read_post(struct post *p, const char *name, const struct gmi_doc *doc)
{
	const struct gmi_line	*l;
	const char		*t = NULL;
	char			 d[11];
	size_t			 i, n;
	bool			 named;

	if ((named = date_prefix(name, d)) && (p->date = strdup(d)) == NULL)
		return -1;
	for (i = 0; i < doc->len; i++) {
		l = &doc->lines[i];
		if (l->type == GMI_H1 && t == NULL && l->text[0] != '\0')
			t = l->text;
		if (l->type != GMI_TEXT && l->type != GMI_H1 &&
		    l->type != GMI_H2 && l->type != GMI_H3)
			continue;
		if (date_alone(l->text)) {
			if (p->date == NULL && date_prefix(l->text +
			    strspn(l->text, " \t"), d) &&
			    (p->date = strdup(d)) == NULL)
				return -1;
		} else if (l->type == GMI_TEXT && p->summary == NULL &&
		    l->text[strspn(l->text, " \t")] != '\0' &&
		    (p->summary = strdup(l->text)) == NULL)
			return -1;
	}
	if (t != NULL)
		return (p->title = strdup(t)) == NULL ? -1 : 0;
	/* "2026-11-20-standing-desks.gmi": "standing-desks". */
	n = (size_t)(strrchr(name, '.') - name);
	if (named && n > 11) {
		name += 11;
		n -= 11;
	}
	return (p->title = strndup(name, n)) == NULL ? -1 : 0;
}

static void
free_post(struct post *p)
{
	free(p->path);
	free(p->title);
	free(p->date);
	free(p->summary);
}

/* walk_tree's callback: one page of the articles directory. */
static int
add_post(void *arg, const char *root, const char *rel)
{
	struct gemlog	*g = arg;
	struct post	 p, *v;
	struct gmi_doc	 doc;
	struct buf	 path, text, err;
	const char	*name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	int		 r = -1, rr;

	memset(&p, 0, sizeof(p));
	gmi_init(&doc);
	buf_init(&path);
	buf_init(&text);
	buf_init(&err);
	if (g->len >= H2G_SITE_PAGES) {
		fprintf(stderr, "html2gmi: %s/%s: more than %d articles; "
		    "nothing written\n", root, rel, H2G_SITE_PAGES);
		goto out;
	}
	if (buf_printf(&path, "%s/%s", root, rel) == -1)
		goto oom;
	if ((rr = h2g_read_file(path.data, &text, H2G_FILE_MAX, &err)) == -3)
		goto oom;
	if (rr != 0) {
		fprintf(stderr, "html2gmi: %s: %s; not listed\n", path.data,
		    rr == -2 ? "larger than 64 MiB" : err.data);
		r = 0;
		goto out;
	}
	if (gmi_parse(&doc, text.data, text.len) == -1 ||
	    read_post(&p, name, &doc) == -1)
		goto oom;
	if (p.date == NULL) {
		/* Dates are never made up: the author's page, not a post. */
		fprintf(stderr, "html2gmi: %s: no date (a name starting "
		    "YYYY-MM-DD, or a line of its own); not listed\n",
		    path.data);
		r = 0;
		goto out;
	}
	buf_reset(&path);
	if (buf_printf(&path, "%s/%s", g->dir, rel) == -1)
		goto oom;
	if (g->len == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;

		if ((v = realloc(g->v, cap * sizeof(*v))) == NULL)
			goto oom;
		g->v = v;
		g->cap = cap;
	}
	p.path = buf_steal(&path);
	g->v[g->len++] = p;
	memset(&p, 0, sizeof(p));
	r = 0;
	goto out;
oom:
	fprintf(stderr, "html2gmi: %s/%s: out of memory\n", root, rel);
out:
	free_post(&p);
	gmi_free(&doc);
	buf_free(&path);
	buf_free(&text);
	buf_free(&err);
	return r;
}

/*
 * The capsule path a local link of the index leads to, in out: 1, or 0
 * when it leads elsewhere or does not decode; -1 when out of memory.
 */
static int
local_target(const char *index, const char *url, struct buf *out)
{
	struct buf	 base, merged;
	size_t		 n = strcspn(url, "?#");
	int		 r = -1;

	if (url_has_scheme(url) || strncmp(url, "//", 2) == 0)
		return 0;
	buf_init(&base);
	buf_init(&merged);
	if (buf_printf(&base, "/%s", index) == 0 &&
	    url_merge_path(&merged, base.data, url, n) == 0 &&
	    buf_reserve(out, merged.len) == 0)
		r = url_decode(merged.data + 1, merged.len - 1, out->data,
		    out->cap, &out->len) == 0;
	buf_free(&base);
	buf_free(&merged);
	return r;
}

/*
 * Is this line of the index one of ours: a link into the articles
 * directory whose label starts with a date, to a page listed now or to
 * none that exists (a post since removed)?  A dated link to a page that
 * exists but is not listed is the author's, and stays.  1 yes, 0 no, -1
 * out of memory.
 */
static int
is_entry(const struct gemlog *g, const char *index, const char *p, size_t n)
{
	struct gmi_doc	 one;
	struct buf	 target, file;
	struct stat	 st;
	char		 d[11];
	size_t		 i, nd = strlen(g->dir);
	int		 r = -1;

	gmi_init(&one);
	buf_init(&target);
	buf_init(&file);
	if (gmi_parse(&one, p, n) == -1)
		goto out;
	r = 0;
	if (one.len != 1 || one.lines[0].type != GMI_LINK ||
	    !date_prefix(one.lines[0].text, d))
		goto out;
	if ((r = local_target(index, one.lines[0].url, &target)) != 1)
		goto out;
	r = 0;
	if (strncmp(target.data, g->dir, nd) != 0 || target.data[nd] != '/')
		goto out;
	for (i = 0; i < g->len && r == 0; i++)
		r = strcmp(g->v[i].path, target.data) == 0;
	if (r == 0 && buf_printf(&file, "%s/%s", g->capsule, target.data) ==
	    -1)
		r = -1;
	else if (r == 0)
		r = stat(file.data, &st) == -1 && errno == ENOENT;
out:
	gmi_free(&one);
	buf_free(&target);
	buf_free(&file);
	return r;
}

/*
 * The index page with list as its entries: the old entry lines taken
 * out, the list put where the first of them stood (at the end of a page
 * that had none, after a blank line), every other line kept as it was.
 */
static int
splice(const struct gemlog *g, const char *index, const struct buf *page,
    const struct buf *list, struct buf *out)
{
	const char	*p = page->data, *end = page->data + page->len, *nl;
	const char	*le;
	bool		 pre = false, placed = false;
	int		 ours;

	for (; p < end; p = nl) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		else
			nl++;
		le = nl > p && nl[-1] == '\n' ? nl - 1 : nl;
		if (le > p && le[-1] == '\r')
			le--;
		if (le - p >= 3 && memcmp(p, "```", 3) == 0)
			pre = !pre;
		else if (!pre && le - p >= 2 && memcmp(p, "=>", 2) == 0 &&
		    (ours = is_entry(g, index, p, (size_t)(le - p))) != 0) {
			if (ours == -1)
				return -1;
			if (!placed && buf_append(out, list->data, list->len) ==
			    -1)
				return -1;
			placed = true;
			continue;
		}
		if (buf_append(out, p, (size_t)(nl - p)) == -1)
			return -1;
	}
	if (placed || list->len == 0)
		return 0;
	if (out->len > 0 && out->data[out->len - 1] != '\n' &&
	    buf_putc(out, '\n') == -1)
		return -1;
	if (out->len > 0 && !(out->len >= 2 && out->data[out->len - 2] == '\n')
	    && buf_putc(out, '\n') == -1)
		return -1;
	return buf_append(out, list->data, list->len);
}

/*
 * The first "# " heading of gemtext, copied into *t, NULL when there is
 * none; -1 when out of memory.
 */
static int
h1_of(const struct buf *text, char **t)
{
	struct gmi_doc	 doc;
	size_t		 i;
	int		 r;

	*t = NULL;
	gmi_init(&doc);
	r = gmi_parse(&doc, text->data, text->len);
	for (i = 0; r == 0 && i < doc.len; i++)
		if (doc.lines[i].type == GMI_H1 &&
		    doc.lines[i].text[0] != '\0') {
			if ((*t = strdup(doc.lines[i].text)) == NULL)
				r = -1;
			break;
		}
	gmi_free(&doc);
	return r;
}

/*
 * The index page at index (inside the capsule): the author's page, or a
 * new one, with the entry lines made again from v.  Its first heading in
 * *title (NULL: none), for the feed.  -1 when it is not written, said.
 */
static int
write_index(const struct gemlog *g, const struct feed_entry *v,
    const char *index, char **title)
{
	struct gmi_doc	 doc;
	struct buf	 file, page, list, out, err;
	int		 r = -1, rr;

	gmi_init(&doc);
	buf_init(&file);
	buf_init(&page);
	buf_init(&list);
	buf_init(&out);
	buf_init(&err);
	if (buf_printf(&file, "%s/%s", g->capsule, index) == -1 ||
	    feed_index(&doc, index, v, g->len, false) == -1 ||
	    gmi_write(&doc, &list) == -1)
		goto oom;
	if ((rr = h2g_read_file(file.data, &page, H2G_FILE_MAX, &err)) == -3)
		goto oom;
	if (rr == -2 || (rr == -1 && access(file.data, F_OK) == 0)) {
		fprintf(stderr, "html2gmi: %s: %s\n", file.data, rr == -2 ?
		    "larger than 64 MiB" : err.data);
		goto out;
	} else if (rr == -1 && buf_printf(&page, "# %s\n",
	    GEMLOG_DEFAULT_TITLE) == -1)
		goto oom;	/* a new index: the author retitles it */
	if (splice(g, index, &page, &list, &out) == -1)
		goto oom;
	if (file_replace(file.data, &out) == -1)
		goto out;
	if (h1_of(&out, title) == -1)
		goto oom;
	r = 0;
	goto out;
oom:
	fprintf(stderr, "html2gmi: %s: out of memory\n", g->capsule);
out:
	gmi_free(&doc);
	buf_free(&file);
	buf_free(&page);
	buf_free(&list);
	buf_free(&out);
	buf_free(&err);
	return r;
}

/*
 * atom.xml under feed_url: the entries v, the index's title, and as the
 * author the capsule's home page's first heading (else the title).
 */
static int
write_feed(const struct gemlog *g, const struct feed_entry *v, const char *index,
    const char *feed_url, const char *title)
{
	struct feed	 f = { .base = feed_url, .self = "atom.xml" };
	struct buf	 file, page, out, err;
	char		*author = NULL;
	int		 r = -1, rr;

	buf_init(&file);
	buf_init(&page);
	buf_init(&out);
	buf_init(&err);
	f.index = index;
	f.v = v;
	f.n = g->len;
	f.title = title ? title : GEMLOG_DEFAULT_TITLE;
	if (buf_printf(&file, "%s/index.gmi", g->capsule) == -1)
		goto oom;
	if ((rr = h2g_read_file(file.data, &page, H2G_FILE_MAX, &err)) == -3 ||
	    (rr == 0 && h1_of(&page, &author) == -1))
		goto oom;
	f.author = author ? author : f.title;
	buf_reset(&file);
	if (feed_write(&f, &out) == -1 ||
	    buf_printf(&file, "%s/%s", g->capsule, f.self) == -1)
		goto oom;
	r = file_replace(file.data, &out) == -1 ? -1 : 0;
	goto out;
oom:
	fprintf(stderr, "html2gmi: %s: out of memory\n", g->capsule);
out:
	free(author);
	buf_free(&file);
	buf_free(&page);
	buf_free(&out);
	buf_free(&err);
	return r;
}

/* Write the index (and the feed under feed_url, when given). */
static int
write_out(struct gemlog *g, const char *feed_url)
{
	struct feed_entry	*v;
	struct buf		 index;
	char			*title = NULL;
	size_t			 i;
	int			 r = -1;

	buf_init(&index);
	if ((v = calloc(g->len + 1, sizeof(*v))) == NULL ||
	    buf_printf(&index, "%s/index.gmi", g->dir) == -1) {
		fprintf(stderr, "html2gmi: %s: out of memory\n", g->capsule);
		goto out;
	}
	for (i = 0; i < g->len; i++) {
		v[i].path = g->v[i].path;
		v[i].title = g->v[i].title;
		v[i].date = g->v[i].date;
		v[i].summary = g->v[i].summary;
	}
	feed_sort(v, g->len);
	if (write_index(g, v, index.data, &title) == 0)
		r = feed_url == NULL ? 0 :
		    write_feed(g, v, index.data, feed_url, title);
out:
	free(v);
	free(title);
	buf_free(&index);
	return r;
}

/*
 * Gemlog mode on the capsule directory capsule: articles is the
 * directory of the posts inside it (NULL: "articles"), feed_url the
 * capsule's gemini:// address (NULL: no feed).  Returns 0, or -1 after
 * saying on stderr what failed, every file left as it was.
 */
int
gemlog_update(const char *capsule, const char *articles, const char *feed_url)
{
	struct gemlog	 g;
	struct buf	 dir;
	struct stat	 st;
	size_t		 i;
	int		 r = -1;

	memset(&g, 0, sizeof(g));
	g.capsule = capsule;
	g.dir = articles ? articles : "articles";
	buf_init(&dir);
	if (buf_printf(&dir, "%s/%s", capsule, g.dir) == -1) {
		fprintf(stderr, "html2gmi: %s: out of memory\n", capsule);
		goto out;
	}
	if (stat(dir.data, &st) == -1 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "html2gmi: %s: not a directory; -g lists the "
		    "articles of CAPSULE/articles, or of the directory "
		    "--articles names\n", dir.data);
		goto out;
	}
	if (walk_tree(dir.data, is_post_name, add_post, &g) == -1)
		goto out;
	r = write_out(&g, feed_url);
out:
	for (i = 0; i < g.len; i++)
		free_post(&g.v[i]);
	free(g.v);
	buf_free(&dir);
	return r;
}
