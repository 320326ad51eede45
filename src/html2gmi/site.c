/*
 * site.c: site mode.  Every page of a site directory is converted in
 * memory first; only when all of them convert is the capsule written,
 * each file under a temporary name renamed into place, together with the
 * generated home, article index and disclaimer and a footer on each page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "html2gmi.h"

struct spage {
	char		*html;		/* path inside the site */
	char		*gmi;		/* path inside the capsule */
	struct page	 pg;
	bool		 article;
	bool		 bad;		/* did not convert: left out */
};

struct site {
	struct spage	*v;
	size_t		 len;
	size_t		 cap;
	const char	*home;		/* capsule paths of the three pages */
	char		*index;
	const char	*disclaimer;
	bool		 has_disclaimer;
	const char	*search;	/* the server's search, or NULL */
	struct assets	 assets;	/* local images the pages link to */
};

static int
cmp_html(const void *a, const void *b)
{
	return strcmp(((const struct spage *)a)->html,
	    ((const struct spage *)b)->html);
}

/*
 * The link rules' question: is this site path one of our pages, or a
 * local image (copied into the capsule at the same path)?
 */
static const char *
site_lookup(void *arg, const char *path)
{
	struct site	*s = arg;
	struct spage	 key, *hit;

	key.html = (char *)path;
	hit = bsearch(&key, s->v, s->len, sizeof(*s->v), cmp_html);
	return hit ? hit->gmi : assets_find(&s->assets, path);
}

static bool
is_html_name(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL && (strcasecmp(dot, ".html") == 0 ||
	    strcasecmp(dot, ".htm") == 0 || strcasecmp(dot, ".xhtml") == 0);
}

static int
add_page(void *arg, const char *root, const char *rel)
{
	struct site	*s = arg;
	struct spage	*v;
	struct buf	 g;

	if (s->len >= H2G_SITE_PAGES) {
		/* Not silently: the pages left out would be missing links. */
		fprintf(stderr, "html2gmi: %s/%s: more than %d pages in the "
		    "site, nothing converted\n", root, rel, H2G_SITE_PAGES);
		return -1;
	}
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		if ((v = realloc(s->v, cap * sizeof(*v))) == NULL)
			goto oom;
		s->v = v;
		s->cap = cap;
	}
	v = &s->v[s->len];
	memset(v, 0, sizeof(*v));
	page_init(&v->pg);
	buf_init(&g);
	if ((v->html = strdup(rel)) == NULL || gmi_path_of(rel, &g) == -1) {
		free(v->html);
		buf_free(&g);
		goto oom;
	}
	v->gmi = buf_steal(&g);
	s->len++;
	return 0;
oom:
	fprintf(stderr, "html2gmi: %s/%s: out of memory\n", root, rel);
	return -1;
}

/* Does doc link to url already? */
static bool
links_to(const struct gmi_doc *doc, const char *url)
{
	size_t i;

	for (i = 0; i < doc->len; i++)
		if (doc->lines[i].type == GMI_LINK &&
		    strcmp(doc->lines[i].url, url) == 0)
			return true;
	return false;
}

/* A footer link, unless to is the page itself or the page links there. */
static void
footer_link(struct gmi_doc *doc, const char *from, const char *to,
    const char *label)
{
	struct buf u;

	if (strcmp(from, to) == 0)
		return;
	buf_init(&u);
	if (link_relative(from, to, &u) == -1)
		gmi_fail(doc);
	else if (!links_to(doc, u.data))
		gmi_add_link(doc, u.data, label);
	buf_free(&u);
}

/*
 * The short footer every page ends with: the home page, the article
 * index, the search and the disclaimer.  A footer link to the page
 * itself, or to where the page's text links already, is left out: the
 * body's link stands where its sentence names it, and the same target
 * twice a few lines apart reads as two different places.
 */
static int
footer(const struct site *s, const char *from, struct gmi_doc *doc)
{
	size_t body = doc->len;

	if (doc->len > 0)
		gmi_add(doc, GMI_TEXT, "", 0);
	footer_link(doc, from, s->home, "Home page");
	footer_link(doc, from, s->index, "All articles");
	/* The server's own path, not a page of the capsule: not relative. */
	if (s->search != NULL && !links_to(doc, s->search))
		gmi_add_link(doc, s->search, "Search the articles");
	if (s->has_disclaimer)
		footer_link(doc, from, s->disclaimer, "Disclaimer");
	if (gmi_status(doc) == -1)
		return -1;
	if (doc->len == body + 1) {
		/* Nothing left to link: no blank line at the end either. */
		doc->len--;
		free(doc->lines[doc->len].text);
	}
	return 0;
}

static const char *
title_of(const struct spage *p)
{
	return p->pg.title ? p->pg.title : p->gmi;
}

/* The articles as the index's entries, newest first (n of them). */
static struct feed_entry *
articles(struct site *s, size_t *n)
{
	struct feed_entry	*v;
	size_t			 i;

	*n = 0;
	if ((v = calloc(s->len + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < s->len; i++)
		if (s->v[i].article) {
			v[*n].path = s->v[i].gmi;
			v[*n].title = title_of(&s->v[i]);
			v[*n].date = s->v[i].pg.date;
			v[(*n)++].summary = s->v[i].pg.summary;
		}
	feed_sort(v, *n);
	return v;
}

static struct spage *
page_at(struct site *s, const char *gmi)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		if (strcmp(s->v[i].gmi, gmi) == 0)
			return &s->v[i];
	return NULL;
}

static const char *
index_title(struct site *s)
{
	struct spage *src = page_at(s, s->index);

	return src && src->pg.title ? src->pg.title : "Articles";
}

/*
 * The article index: the source page's title and first paragraph, then
 * every article, newest first, as "=> path YYYY-MM-DD Title" (the Gemini
 * subscription convention) and its summary.
 */
static int
make_index(struct site *s, struct gmi_doc *doc)
{
	struct spage		*src = page_at(s, s->index);
	struct feed_entry	*v;
	const char		*t;
	size_t			 n;
	int			 r = -1;

	if ((v = articles(s, &n)) == NULL)
		return -1;
	t = index_title(s);
	gmi_add(doc, GMI_H1, t, strlen(t));
	if (src && src->pg.summary) {
		gmi_add(doc, GMI_TEXT, "", 0);
		gmi_add(doc, GMI_TEXT, src->pg.summary,
		    strlen(src->pg.summary));
	}
	r = feed_index(doc, s->index, v, n, true);
	free(v);
	return r;
}

/* Say that the capsule's page gmi ran out of memory; -1. */
static int
oom(const struct outdir *od, const char *gmi)
{
	fprintf(stderr, "html2gmi: %s/%s: out of memory\n", od->out, gmi);
	return -1;
}

/* Render doc (plus footer) and write it to the capsule as gmi. */
static int
emit(const struct site *s, struct outdir *od, const char *gmi,
    struct gmi_doc *doc)
{
	struct buf	 text;
	int		 r = -1;

	buf_init(&text);
	if (footer(s, gmi, doc) == -1 || gmi_write(doc, &text) == -1)
		oom(od, gmi);
	else
		r = outdir_write(od, gmi, &text);
	buf_free(&text);
	return r;
}

/*
 * The date an undated page gets: its file's modification day, in UTC,
 * into *date; NULL when it has none.  -1 when out of memory.
 */
static int
mtime_date(const char *path, char **date)
{
	struct stat	st;
	struct tm	tm;
	char		d[16];

	*date = NULL;
	if (stat(path, &st) == -1 || gmtime_r(&st.st_mtime, &tm) == NULL ||
	    strftime(d, sizeof(d), "%Y-%m-%d", &tm) == 0)
		return 0;
	return (*date = strdup(d)) == NULL ? -1 : 0;
}

/* Convert every page; returns how many did not, each named on stderr. */
static size_t
convert_all(struct site *s, const char *sitedir, const struct profile *prof,
    const char *base_url)
{
	struct linkctx	 lc = { base_url, NULL, true, site_lookup, s };
	struct buf	 path, err;
	size_t		 i, bad = 0;

	buf_init(&path);
	buf_init(&err);
	assets_reset(&s->assets);	/* those of this pass's pages only */
	for (i = 0; i < s->len; i++) {
		/* Freed, not reset: a failed buffer stays failed. */
		buf_free(&path);
		buf_free(&err);
		lc.page = s->v[i].html;
		page_free(&s->v[i].pg);		/* from the first pass */
		page_init(&s->v[i].pg);
		if (buf_printf(&path, "%s/%s", sitedir, s->v[i].html) == -1) {
			fprintf(stderr, "html2gmi: %s/%s: out of memory; left "
			    "out\n", sitedir, s->v[i].html);
			goto bad;
		}
		s->assets.oom = false;
		if (convert_file(path.data, path.data, prof, &lc, &s->v[i].pg,
		    &err) == -1) {
			/* No message: there was no memory to store it. */
			fprintf(stderr, "html2gmi: %s: %s; left out\n",
			    path.data, err.data ? err.data : "out of memory");
			goto bad;
		}
		if (s->assets.oom)	/* site_lookup could not say */
			goto oom;
		if (feed_date_ok(s->v[i].pg.date))
			continue;
		/* No date, or no real day ("2013-13-45"). */
		free(s->v[i].pg.date);
		if (mtime_date(path.data, &s->v[i].pg.date) == 0)
			continue;
oom:
		fprintf(stderr, "html2gmi: %s: out of memory; left out\n",
		    path.data);
bad:
		s->v[i].bad = true;
		bad++;
	}
	buf_free(&path);
	buf_free(&err);
	return bad;
}

static void
free_page(struct spage *p)
{
	free(p->html);
	free(p->gmi);
	page_free(&p->pg);
}

/* Forget the pages that did not convert; the order stays sorted. */
static void
drop_bad(struct site *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->len; i++)
		if (s->v[i].bad)
			free_page(&s->v[i]);
		else
			s->v[n++] = s->v[i];
	s->len = n;
}

/*
 * Convert the site, leaving out the pages that do not convert.  When
 * some did not, the others are converted again without them, so that
 * no page links to one the capsule lacks.  Returns the number left out.
 */
static size_t
convert_site(struct site *s, const char *sitedir, const struct profile *prof,
    const char *base_url)
{
	size_t bad;

	if ((bad = convert_all(s, sitedir, prof, base_url)) == 0)
		return 0;
	drop_bad(s);
	if (s->len > 0)
		bad += convert_all(s, sitedir, prof, base_url);
	drop_bad(s);
	return bad;
}

/* Which page is which: home, article index, disclaimer, articles. */
static int
assign_roles(struct site *s, const struct profile *prof)
{
	struct buf	 idx;
	size_t		 i, n;
	const char	*a = prof->articles;

	buf_init(&idx);
	if (buf_printf(&idx, "%s/index.gmi", a ? a : "articles") == -1)
		return -1;
	s->index = buf_steal(&idx);
	s->home = "index.gmi";
	s->disclaimer = "disclaimer.gmi";
	for (i = 0; i < s->len; i++) {
		const char *g = s->v[i].gmi;

		n = a ? strlen(a) : 0;
		if (strcmp(g, s->index) == 0 || strcmp(g, s->home) == 0 ||
		    strcmp(g, s->disclaimer) == 0)
			continue;
		s->v[i].article = a == NULL || (strncmp(g, a, n) == 0 &&
		    g[n] == '/');
	}
	return 0;
}

static char *
site_disclaimer(const struct site *s)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		if (s->v[i].pg.disclaimer != NULL)
			return s->v[i].pg.disclaimer;
	return NULL;
}

static int
write_all(struct site *s, struct outdir *outdir)
{
	struct gmi_doc	 doc;
	const char	*text;
	size_t		 i;
	int		 r = 0;

	s->has_disclaimer = page_at(s, s->disclaimer) != NULL ||
	    site_disclaimer(s) != NULL;
	for (i = 0; r == 0 && i < s->len; i++)
		if (strcmp(s->v[i].gmi, s->index) != 0)
			r = emit(s, outdir, s->v[i].gmi, &s->v[i].pg.doc);
	gmi_init(&doc);
	if (r == 0 && make_index(s, &doc) == 0)
		r = emit(s, outdir, s->index, &doc);
	else if (r == 0)
		r = oom(outdir, s->index);
	gmi_free(&doc);
	if (r == 0 && page_at(s, s->disclaimer) == NULL &&
	    (text = site_disclaimer(s)) != NULL) {
		gmi_add(&doc, GMI_H1, "Disclaimer", 10);
		gmi_add(&doc, GMI_TEXT, "", 0);
		gmi_add(&doc, GMI_TEXT, text, strlen(text));
		if (gmi_status(&doc) == -1)
			r = oom(outdir, s->disclaimer);
		else
			r = emit(s, outdir, s->disclaimer, &doc);
		gmi_free(&doc);
	}
	if (r == 0 && page_at(s, s->home) == NULL) {
		if (gmi_add(&doc, GMI_H1, "Home", 4) == -1)
			r = oom(outdir, s->home);
		else
			r = emit(s, outdir, s->home, &doc);
		gmi_free(&doc);
	}
	return r;
}

/*
 * atom.xml beside the home page: the article index's entries as an Atom
 * feed under the capsule's address base (feed.c).
 */
static int
write_feed(struct site *s, struct outdir *od, const char *base)
{
	struct spage		*home = page_at(s, s->home);
	struct feed_entry	*v;
	struct feed		 f = { .base = base, .index = s->index,
				    .self = "atom.xml" };
	struct buf		 text;
	int			 r = -1;

	buf_init(&text);
	if ((v = articles(s, &f.n)) == NULL) {
		oom(od, f.self);
		goto out;
	}
	f.v = v;
	f.title = index_title(s);
	f.author = home && home->pg.title ? home->pg.title : f.title;
	if (feed_write(&f, &text) == -1)
		oom(od, f.self);
	else
		r = outdir_write(od, f.self, &text);
out:
	free(v);
	buf_free(&text);
	return r;
}

static int
cmp_gmi(const void *a, const void *b)
{
	return strcmp((*(struct spage *const *)a)->gmi,
	    (*(struct spage *const *)b)->gmi);
}

/* a.html and a.htm (or A.HTML) would both become a.gmi: one would be lost. */
static int
check_unique(struct site *s, const char *sitedir)
{
	struct spage	**v;
	size_t		  i;
	int		  r = 0;

	if ((v = calloc(s->len, sizeof(*v))) == NULL) {
		fprintf(stderr, "html2gmi: %s: out of memory\n", sitedir);
		return -1;
	}
	for (i = 0; i < s->len; i++)
		v[i] = &s->v[i];
	qsort(v, s->len, sizeof(*v), cmp_gmi);
	for (i = 1; i < s->len; i++)
		if (strcmp(v[i - 1]->gmi, v[i]->gmi) == 0) {
			fprintf(stderr, "html2gmi: %s/%s: same output %s as "
			    "%s/%s; rename one of them\n", sitedir, v[i]->html,
			    v[i]->gmi, sitedir, v[i - 1]->html);
			r = -1;
		}
	free(v);
	return r;
}

/* Is path a name the redirect list can hold: no space or control byte,
 * and no "*", which would make it a prefix? */
static bool
one_word(const char *path)
{
	for (; *path != '\0'; path++)
		if ((unsigned char)*path <= 0x20 || *path == 0x7F ||
		    *path == '*')
			return false;
	return true;
}

/*
 * file must not be served: refuse one whose directory is the capsule's,
 * or under it, however named.  Its directory must exist.
 */
static int
redirects_outside(const char *file, const char *outdir)
{
	char	*dir, *slash, *rdir, *rout;
	size_t	 n;
	int	 r = 0;

	slash = strrchr(file, '/');
	if ((dir = strdup(slash == NULL ? "." : file)) == NULL)
		return -1;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		;	/* "." */
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((rdir = realpath(dir, NULL)) == NULL) {
		fprintf(stderr, "html2gmi: --redirects %s: %s: %s\n", file,
		    dir, strerror(errno));
		free(dir);
		return -1;
	}
	if ((rout = realpath(outdir, NULL)) != NULL) {
		n = strlen(rout);
		if (strncmp(rdir, rout, n) == 0 && (rdir[n] == '\0' ||
		    rdir[n] == '/')) {
			fprintf(stderr, "html2gmi: --redirects %s: inside the "
			    "capsule %s, where it would be served; write it "
			    "beside it\n", file, outdir);
			r = -1;
		}
	}
	free(rout);
	free(rdir);
	free(dir);
	return r;
}

/*
 * The redirect list lumbar's configuration includes (lumbar.conf(5)):
 * each page's path on the old site to its path in the capsule, so that a
 * link from the web era keeps working.  Replaced whole, like the
 * capsule's files (file_replace).
 */
static int
write_redirects(const struct site *s, const char *sitedir, const char *file)
{
	struct buf	 text;
	size_t		 i;
	int		 r = -1;

	buf_init(&text);
	if (buf_printf(&text, "# Written by html2gmi from %s: the site's "
	    "pages, from\n# their paths on the web to their paths in the "
	    "capsule.  lumbar\n# reads it with \"include %s\" "
	    "(lumbar.conf(5)).\n", sitedir, file) == -1)
		goto oom;
	for (i = 0; i < s->len; i++) {
		if (!one_word(s->v[i].html) || !one_word(s->v[i].gmi)) {
			fprintf(stderr, "html2gmi: %s/%s: no redirect: a "
			    "space or \"*\" in its path\n", sitedir, s->v[i].html);
			continue;
		}
		if (buf_printf(&text, "redirect /%s /%s\n", s->v[i].html,
		    s->v[i].gmi) == -1)
			goto oom;
	}
	r = file_replace(file, &text) == -1 ? -1 : 0;
	buf_free(&text);
	return r;
oom:
	fprintf(stderr, "html2gmi: --redirects %s: out of memory\n", file);
	buf_free(&text);
	return -1;
}

/*
 * Convert the site in sitedir into the capsule outdir, built beside it
 * and swapped in whole (outdir.c).  Returns 0; 1 when the capsule was
 * written without some pages, named on stderr; or -1 after saying on
 * stderr what failed, the capsule left as it was.
 */
int
site_convert(const char *sitedir, const char *outdir,
    const struct profile *prof, const char *base_url, const char *redirects)
{
	struct site	 s;
	struct outdir	 od;
	size_t		 i, bad;
	int		 r = -1;

	memset(&s, 0, sizeof(s));
	memset(&od, 0, sizeof(od));
	od.pfd = -1;
	if (assets_init(&s.assets, sitedir) == -1) {
		fprintf(stderr, "html2gmi: %s: out of memory\n", sitedir);
		goto out;
	}
	if (redirects != NULL && redirects_outside(redirects, outdir) == -1)
		goto out;
	if (walk_tree(sitedir, is_html_name, add_page, &s) == -1)
		goto out;
	if (s.len == 0) {
		fprintf(stderr, "html2gmi: %s: no HTML pages found\n", sitedir);
		goto out;
	}
	qsort(s.v, s.len, sizeof(*s.v), cmp_html);
	if (check_unique(&s, sitedir) == -1)
		goto out;
	if (assign_roles(&s, prof) == -1) {
		fprintf(stderr, "html2gmi: %s: out of memory\n", sitedir);
		goto out;
	}
	bad = convert_site(&s, sitedir, prof, base_url);
	if (s.len == 0) {
		fprintf(stderr, "html2gmi: %s: no page converted; %s is left "
		    "as it was\n", sitedir, outdir);
		goto out;
	}
	if (outdir_begin(&od, outdir) == -1)
		goto out;
	s.search = prof->search;
	if (write_all(&s, &od) == -1 || (prof->feed_url != NULL &&
	    write_feed(&s, &od, prof->feed_url) == -1) ||
	    assets_copy(&s.assets, &od) == -1 || outdir_commit(&od) == -1)
		goto out;
	/* After the capsule: the list names what is served. */
	if (redirects != NULL && write_redirects(&s, sitedir, redirects) == -1)
		goto out;
	r = bad > 0 ? 1 : 0;
out:
	outdir_abort(&od);
	for (i = 0; i < s.len; i++)
		free_page(&s.v[i]);
	free(s.v);
	free(s.index);
	assets_free(&s.assets);
	return r;
}
