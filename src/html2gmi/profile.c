/*
 * profile.c: the site profile, a few "key value" lines that say which
 * containers hold a page's content and which are boilerplate, so that
 * site-specific knowledge stays out of the converter's code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "html2gmi.h"

#define PROFILE_LINE_MAX 1024

void
profile_init(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	p->link_density = 0.5;
	p->default_drops = true;
	p->term_lists = true;
	p->max_input = H2G_INPUT_MIB;
}

static void
sellist_free(struct sellist *l)
{
	size_t i, j;

	for (i = 0; i < l->len; i++) {
		free(l->v[i].tagname);
		free(l->v[i].id);
		for (j = 0; j < l->v[i].nclasses; j++)
			free(l->v[i].classes[j]);
		free(l->v[i].classes);
	}
	free(l->v);
	l->v = NULL;
	l->len = 0;
}

void
profile_free(struct profile *p)
{
	sellist_free(&p->content);
	sellist_free(&p->drop);
	sellist_free(&p->disclaimer);
	free(p->articles);
	free(p->feed_url);
	free(p->search);
	profile_init(p);
}

static bool
name_char(char c)
{
	return c != '\0' && c != '.' && c != '#' && c != ' ' && c != '\t';
}

/*
 * Parse "tag", "#id", ".class", "tag#id.class1.class2" and so on: -1 when
 * it is none of these, -2 when out of memory.
 */
static int
parse_selector(const char *s, struct selector *sel)
{
	const char	*p;
	char		*word, **cl;
	char		 kind;
	size_t		 n;

	memset(sel, 0, sizeof(*sel));
	sel->tag = GUMBO_TAG_LAST;
	for (p = s; *p != '\0'; p += n) {
		kind = (*p == '.' || *p == '#') ? *p++ : 't';
		for (n = 0; name_char(p[n]); n++)
			;
		if (n == 0 || (kind == 't' && p != s))
			return -1;
		if ((word = strndup(p, n)) == NULL)
			return -2;
		if (kind == 't') {
			sel->tag = gumbo_tag_enum(word);
			if (sel->tag == GUMBO_TAG_UNKNOWN) {
				for (char *w = word; *w; w++)
					if (*w >= 'A' && *w <= 'Z')
						*w = (char)(*w + 32);
				sel->tagname = word;
			} else
				free(word);
		} else if (kind == '#') {
			free(sel->id);
			sel->id = word;
		} else {
			cl = realloc(sel->classes,
			    (sel->nclasses + 1) * sizeof(*cl));
			if (cl == NULL) {
				free(word);
				return -2;
			}
			sel->classes = cl;
			cl[sel->nclasses++] = word;
		}
	}
	return p == s ? -1 : 0;
}

/* One more selector: as parse_selector returns. */
static int
sellist_add(struct sellist *l, const char *s)
{
	struct selector	*v;
	int		 r;

	if ((v = realloc(l->v, (l->len + 1) * sizeof(*v))) == NULL)
		return -2;
	l->v = v;
	if ((r = parse_selector(s, &v[l->len])) < 0) {
		struct sellist one = { &v[l->len], 1 };

		/* Free what was parsed, without freeing the array itself. */
		for (size_t j = 0; j < one.v->nclasses; j++)
			free(one.v->classes[j]);
		free(one.v->classes);
		free(one.v->tagname);
		free(one.v->id);
		return r;
	}
	l->len++;
	return 0;
}

static bool
yes_no(const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0) {
		*out = false;
		return true;
	}
	return false;
}

/* content, drop, disclaimer: one more selector in the key's list. */
static int
set_selector(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	struct sellist	*l = strcmp(key, "content") == 0 ? &p->content :
			    strcmp(key, "drop") == 0 ? &p->drop : &p->disclaimer;

	int r;

	if ((r = sellist_add(l, val)) == 0)
		return 0;
	if (r == -2)
		return -1;	/* out of memory: profile_line says so */
	buf_printf(err, "bad selector \"%s\" (want tag, #id, .class or "
	    "tag#id.class)", val);
	return -1;
}

static int
set_articles(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	const char	*why;
	size_t		 n = strlen(val);

	/* "articles/" and "articles" name the same directory. */
	while (n > 0 && val[n - 1] == '/')
		n--;
	free(p->articles);
	if ((p->articles = strndup(val, n)) == NULL)
		return -1;
	if (val[0] != '/' && (strcmp(p->articles, ".") == 0 ||
	    p->articles[0] == '\0')) {
		free(p->articles);
		p->articles = NULL;
		return 0;
	}
	/* The article index is written there: inside -o DIR. */
	if (val[0] == '/' || path_check(p->articles, &why)) {
		buf_printf(err, "%s wants a directory inside the site, such as "
		    "articles, not \"%s\"", key, val);
		free(p->articles);
		p->articles = NULL;
		return -1;
	}
	return 0;
}

static int
set_feed_url(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	const char *why;

	if (feed_check_url(val, &why) == -1) {
		buf_printf(err, "\"%s\" %s", val, why);
		return -1;
	}
	free(p->feed_url);
	return (p->feed_url = strdup(val)) == NULL ? -1 : 0;
}

static int
set_search(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	/* Written into a link line: one word, no control bytes. */
	if (val[0] == '\0' || strpbrk(val, " \t") != NULL ||
	    !utf8_valid(val, strlen(val))) {
		buf_printf(err, "%s wants the server's search path or URL, "
		    "such as /search, not \"%s\"", key, val);
		return -1;
	}
	free(p->search);
	return (p->search = strdup(val)) == NULL ? -1 : 0;
}

static int
set_link_density(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	char	*end;
	double	 d;

	errno = 0;
	d = strtod(val, &end);
	if (errno == 0 && *end == '\0' && end != val && d >= 0 && d <= 1) {
		p->link_density = d;
		return 0;
	}
	buf_printf(err, "%s wants a number from 0 to 1, not \"%s\"", key,
	    val);
	return -1;
}

static int
set_max_input(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(val, &end, 10);
	if (errno == 0 && *end == '\0' && end != val && n >= 1 &&
	    n <= H2G_INPUT_MIB_MAX) {
		p->max_input = (int)n;
		return 0;
	}
	buf_printf(err, "%s wants MiB from 1 to %d, not \"%s\"", key,
	    H2G_INPUT_MIB_MAX, val);
	return -1;
}

/* default-drops, term-lists: yes or no. */
static int
set_yes_no(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	bool	*flag = strcmp(key, "default-drops") == 0 ?
		    &p->default_drops : &p->term_lists;

	if (yes_no(val, flag))
		return 0;
	buf_printf(err, "%s wants yes or no, not \"%s\"", key, val);
	return -1;
}

/*
 * One setting; the command line's --content/--drop and the profile's
 * lines both come here.  On error err says why: every setter words its
 * own refusals, and a failure it left unworded is out of memory.
 */
int
profile_line(struct profile *p, const char *key, const char *val,
    struct buf *err)
{
	static const struct {
		const char	*key;
		int		(*set)(struct profile *, const char *,
				    const char *, struct buf *);
	} keys[] = {
		{ "content", set_selector },
		{ "drop", set_selector },
		{ "disclaimer", set_selector },
		{ "articles", set_articles },
		{ "feed-url", set_feed_url },
		{ "search", set_search },
		{ "link-density", set_link_density },
		{ "default-drops", set_yes_no },
		{ "term-lists", set_yes_no },
		{ "max-input", set_max_input },
	};
	size_t	 i, had = err->len;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key) != 0)
			continue;
		if (keys[i].set(p, key, val, err) == 0)
			return 0;
		if (err->len == had)
			buf_puts(err, "out of memory");
		return -1;
	}
	buf_printf(err, "unknown key \"%s\"", key);
	return -1;
}

/* Read a profile file; err receives "FILE:LINE: why" on failure. */
int
profile_load(struct profile *p, const char *path, struct buf *err)
{
	FILE	*f;
	char	 line[PROFILE_LINE_MAX], *k, *v, *e;
	int	 lineno = 0, r = 0;
	struct buf why;

	if ((f = fopen(path, "r")) == NULL) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&why);
	while (r == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			buf_printf(err, "%s:%d: line too long", path, lineno);
			r = -1;
			break;
		}
		k = line + strspn(line, " \t\r\n");
		/* Only whole lines are comments: "#id" is a selector. */
		if (*k == '\0' || *k == '#')
			continue;
		v = k + strcspn(k, " \t\r\n");
		if (*v != '\0')
			*v++ = '\0';
		v += strspn(v, " \t");
		for (e = v + strlen(v); e > v && strchr(" \t\r\n", e[-1]); e--)
			;
		*e = '\0';
		if (*v == '\0') {
			buf_printf(err, "%s:%d: \"%s\" needs a value", path,
			    lineno, k);
			r = -1;
		} else if (profile_line(p, k, v, &why) == -1) {
			buf_printf(err, "%s:%d: %s", path, lineno,
			    why.len ? why.data : "out of memory");
			r = -1;
		}
	}
	if (r == 0 && ferror(f)) {
		buf_printf(err, "%s: read error", path);
		r = -1;
	}
	buf_free(&why);
	fclose(f);
	return r;
}

static bool
has_class(const char *attr, const char *want)
{
	size_t n = strlen(want), k;

	while (*attr != '\0') {
		attr += strspn(attr, " \t\n\r\f");
		k = strcspn(attr, " \t\n\r\f");
		if (k == n && memcmp(attr, want, n) == 0)
			return true;
		attr += k;
	}
	return false;
}

/* Does the element's unknown tag name equal want (lower case)? */
static bool
unknown_tag_is(const GumboElement *el, const char *want)
{
	GumboStringPiece t = el->original_tag;

	gumbo_tag_from_original_text(&t);
	return t.length == strlen(want) &&
	    strncasecmp(t.data, want, t.length) == 0;
}

static bool
selector_match(const struct selector *s, const GumboNode *node)
{
	const GumboElement	*el = &node->v.element;
	const GumboAttribute	*a;
	size_t			 i;

	if (s->tagname != NULL) {
		if (el->tag != GUMBO_TAG_UNKNOWN || !unknown_tag_is(el,
		    s->tagname))
			return false;
	} else if (s->tag != GUMBO_TAG_LAST && el->tag != s->tag)
		return false;
	if (s->id != NULL && ((a = gumbo_get_attribute(&el->attributes,
	    "id")) == NULL || strcmp(a->value, s->id) != 0))
		return false;
	if (s->nclasses > 0) {
		if ((a = gumbo_get_attribute(&el->attributes, "class")) == NULL)
			return false;
		for (i = 0; i < s->nclasses; i++)
			if (!has_class(a->value, s->classes[i]))
				return false;
	}
	return true;
}

bool
selector_any(const struct sellist *l, const GumboNode *node)
{
	size_t i;

	if (node->type != GUMBO_NODE_ELEMENT)
		return false;
	for (i = 0; i < l->len; i++)
		if (selector_match(&l->v[i], node))
			return true;
	return false;
}
