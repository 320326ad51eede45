/*
 * html2gmi.h: the converter's internal interfaces, grouped by the file
 * that defines them; shared types (buf, gmi_doc) come from lumbar.h.
 */
#ifndef HTML2GMI_H
#define HTML2GMI_H

#include <sys/stat.h>

#include <gumbo.h>

#include "lumbar.h"

#define H2G_VERSION	LUMBAR_VERSION	/* the Makefile's VERSION */
/*
 * MiB of one HTML file, by default and at most (--max-input).  gumbo
 * parses 10-15 MB/s of text and a page dense in tags several times
 * slower: at 4 MiB any page converts in about a second (bench/results.md),
 * while the rare larger real page (nodejs's all.html, 8 MiB) needs the
 * option, and the time it costs (2-3 s a 10 MiB of tags).
 */
#define H2G_INPUT_MIB	4
#define H2G_INPUT_MIB_MAX 64
/* Bytes of any other file html2gmi reads: an image it copies, a
 * hand-written gemtext page, its own earlier outputs. */
#define H2G_FILE_MAX	(64 * 1024 * 1024)
#define H2G_SNIFF_LEN	8192	/* bytes searched for <meta charset> */
#define H2G_CHARSET_MAX	64	/* bytes of a charset label */
#define H2G_SITE_DEPTH	16	/* directory levels read in site mode */
#define H2G_SITE_PAGES	10000	/* pages converted in site mode */
#define H2G_SITE_ASSETS	10000	/* images copied in site mode */
#define H2G_TABLE_COLS	64	/* columns of a preformatted table */
#define H2G_DROP_WARN	100	/* words dropped by the defaults: warn */
#define H2G_DEPTH_MAX	256	/* elements open at once (Blink: 512) */

/* arena.c: gumbo's memory, freed all at once. */
struct arena_block;
struct arena_piece;
struct arena {
	struct arena_block	*top;		/* the block allocated from */
	size_t			 next;		/* bytes of the next block */
	struct arena_piece	*pieces;	/* sanitized builds: each alone */
};
void	 arena_init(struct arena *);
void	 arena_free(struct arena *);
void	 arena_gumbo(struct arena *, GumboOptions *);

/* charset.c: what the bytes are, and the same text in UTF-8. */
int	 charset_to_utf8(const char *, size_t, struct buf *, char *, size_t);
const char *html_sniff(const char *, size_t);

/* depth.c: the page less the tags that would nest too deep. */
int	 depth_cap(const char *, size_t, struct buf *);

/* profile.c: which parts of a page are content, which are boilerplate. */
struct selector {
	GumboTag	 tag;		/* GUMBO_TAG_LAST: any element */
	char		*tagname;	/* for tags gumbo does not know */
	char		*id;		/* NULL: any */
	char		**classes;	/* all must be present */
	size_t		 nclasses;
};
struct sellist {
	struct selector	*v;
	size_t		 len;
};
struct profile {
	struct sellist	 content;	/* containers that hold the content */
	struct sellist	 drop;		/* boilerplate, dropped with all inside */
	struct sellist	 disclaimer;	/* written once, to disclaimer.gmi */
	char		*articles;	/* directory of the articles; NULL: all */
	double		 link_density;	/* drop blocks above it; 0: never */
	bool		 default_drops;	/* nav, header, footer, aside */
	bool		 term_lists;	/* bold-term paragraphs as items */
	char		*feed_url;	/* gemini:// address; NULL: no feed */
	char		*search;	/* the server's search; NULL: no link */
	int		 max_input;	/* MiB of one HTML file */
};
void	 profile_init(struct profile *);
void	 profile_free(struct profile *);
int	 profile_load(struct profile *, const char *, struct buf *);
int	 profile_line(struct profile *, const char *, const char *,
	    struct buf *);
bool	 selector_any(const struct sellist *, const GumboNode *);

/* link.c: where an href leads once the site is gemtext. */
struct linkctx {
	const char	*base_url;	/* the site on the web, or NULL */
	const char	*page;		/* this page inside the site */
	bool		 clamp;		/* ".." cannot leave the site */
	/* A page of the collection at this path?  Its .gmi path, else NULL. */
	const char	*(*lookup)(void *, const char *);
	void		*arg;
};
int	 link_resolve(const struct linkctx *, const char *, struct buf *);
int	 link_relative(const char *, const char *, struct buf *);
int	 gmi_path_of(const char *, struct buf *);

/* tree.c: walking gumbo's tree without recursion, so depth costs no stack. */
const GumboVector *tree_children(const GumboNode *);
GumboNode *tree_next(const GumboNode *, GumboNode *, bool);
int	 tree_text(const GumboNode *, struct buf *);
const char *tree_attr(const GumboNode *, const char *);
bool	 collapse_into(struct buf *, bool *, const char *, size_t);

/* gather.c: the links of a block, merged, written after it. */
struct glink {
	char		*url;
	char		*label;		/* never empty */
};
struct gather {
	struct glink	*v;
	size_t		 len;
	size_t		 cap;
	size_t		*slots;		/* hash of URLs: index + 1, 0 empty */
	size_t		 nslots;
};
void	 gather_init(struct gather *);
void	 gather_free(struct gather *);
int	 gather_add(struct gather *, const char *, const char *);
int	 gather_flush(struct gather *, struct gmi_doc *);

/* density.c: where the article is; link text against all text. */
struct dstat {
	const GumboNode	*node;
	size_t		 text;		/* non-space bytes */
	size_t		 link_text;	/* of them, inside <a href> */
	size_t		 links;
	size_t		 frag_links;	/* of them, to "#x" in the page */
	size_t		 words;
	size_t		 commas;
	double		 score;		/* as the article, before links */
	bool		 keep;		/* holds the article or its heading */
};
struct dkey {
	const GumboNode	*node;		/* NULL: a free slot */
	size_t		 at;		/* its index in stats */
};
struct density {
	struct dstat	*slots;		/* in document order, + one empty */
	size_t		 nstats;
	struct dkey	*keys;		/* hash of node to index */
	size_t		 nkeys;
	const GumboNode	*best;		/* the block most like the article */
	const GumboNode	*heading;	/* the page's main heading */
	const GumboNode	*head_block;	/* the block it heads */
	size_t		 article_text;	/* text of the larger of the two */
	size_t		 own_text;	/* the root's non-link text */
};
int	 density_build(struct density *, GumboNode *);
void	 density_free(struct density *);
enum dense { DENSE_NO, DENSE_NAV, DENSE_CONTENT };
enum dense density_dense(const struct density *, const GumboNode *, double,
	    bool);
bool	 density_article(const struct density *, const GumboNode *);
size_t	 density_words(const struct density *, const GumboNode *);

/* table.c: a data table as a preformatted block. */
struct table {
	char		**cells;	/* rows * cols, NULL for none */
	size_t		 rows;
	size_t		 cols;
	size_t		 cap;		/* of cells, in rows */
	size_t		 head;		/* leading header rows */
	char		*caption;
};
void	 table_init(struct table *);
void	 table_free(struct table *);
int	 table_add_row(struct table *);
int	 table_set(struct table *, size_t, const char *);
int	 table_render(const struct table *, struct gmi_doc *);

/* convert.c: one page's HTML to the gemtext model. */
struct page {
	struct gmi_doc	 doc;
	char		*title;		/* NULL when the page has none */
	char		*summary;	/* its first paragraph */
	char		*date;		/* YYYY-MM-DD from its markup, or NULL */
	char		*disclaimer;	/* text of the disclaimer block */
	size_t		 dropped;	/* words left out by the defaults */
};
void	 page_init(struct page *);
void	 page_free(struct page *);
int	 convert_html(const char *, size_t, const struct profile *,
	    const struct linkctx *, struct page *);

/* meta.c: a page's title, date, summary and disclaimer. */
int	 page_meta(struct page *, GumboOutput *, const struct profile *, bool);

/* input.c: files read whole; an HTML file read, decoded and converted. */
int	 h2g_read_file(const char *, struct buf *, size_t, struct buf *);
int	 convert_file(const char *, const char *, const struct profile *,
	    const struct linkctx *, struct page *, struct buf *);

/* feed.c: the article index's entries, as index lines and Atom feed. */
struct feed_entry {
	const char	*path;		/* inside the capsule */
	const char	*title;
	const char	*date;		/* YYYY-MM-DD, feed_date_ok, or NULL */
	const char	*summary;	/* or NULL */
};
struct feed {
	const char	*base;		/* the capsule's gemini:// address */
	const char	*title;
	const char	*author;
	const char	*index;		/* capsule path of the article index */
	const char	*self;		/* capsule path of the feed */
	const struct feed_entry *v;
	size_t		 n;
};
bool	 feed_date_ok(const char *);
void	 feed_sort(struct feed_entry *, size_t);
int	 feed_index(struct gmi_doc *, const char *, const struct feed_entry *,
	    size_t, bool);
int	 feed_check_url(const char *, const char **);
int	 feed_write(const struct feed *, struct buf *);

/* outdir.c: the capsule directory, built beside and swapped in whole. */
struct outdir {
	char		*out;		/* the capsule, symlinks resolved */
	char		*parent;	/* its directory, locked while we run */
	char		*name;		/* its name in there */
	char		*build;		/* the new capsule, until swapped in */
	char		*old;		/* where the replaced one is kept */
	int		 pfd;		/* parent, open and flock()ed */
	bool		 had_old;
	struct stat	 oldst;
	struct buf	 made;		/* what this run wrote, a line each */
	struct buf	 oldmade;	/* what the last run wrote, a line each */
};
int	 outdir_begin(struct outdir *, const char *);
int	 outdir_write(struct outdir *, const char *, const struct buf *);
int	 outdir_commit(struct outdir *);
void	 outdir_abort(struct outdir *);
int	 file_replace(const char *, const struct buf *);

/* asset.c: the local images pages link to, copied into the capsule. */
struct assets {
	const char	*sitedir;
	char		*realdir;	/* sitedir, symbolic links resolved */
	char		**v;		/* site paths, sorted */
	size_t		 len;
	size_t		 cap;
	bool		 oom;		/* assets_find ran out of memory */
};
int	 assets_init(struct assets *, const char *);
void	 assets_reset(struct assets *);
void	 assets_free(struct assets *);
const char *assets_find(struct assets *, const char *);
int	 assets_copy(const struct assets *, struct outdir *);

/* walk.c: the files of a tree, sorted, hidden ones and loops skipped. */
int	 walk_tree(const char *, bool (*)(const char *),
	    int (*)(void *, const char *, const char *), void *);

/* gemlog.c: a hand-written capsule's article index and feed. */
int	 gemlog_update(const char *, const char *, const char *);

/* site.c: a whole site directory to a capsule. */
int	 site_convert(const char *, const char *, const struct profile *,
	    const char *, const char *);

#endif
