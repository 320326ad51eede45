/*
 * lumbar.h: the one internal header of lumbar and html2gmi.
 * Prototypes are grouped under the file that defines them; limits are
 * named here so that every bound in the code has one home.
 */
#ifndef LUMBAR_H
#define LUMBAR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* lumbar's and html2gmi's version: the Makefile's VERSION, passed as -D. */
#ifndef LUMBAR_VERSION
#error "LUMBAR_VERSION comes from the Makefile: -DLUMBAR_VERSION='\"x.y.z\"'"
#endif

#define GEMINI_URL_MAX      1024    /* bytes, without the CRLF */
#define GEMINI_DEFAULT_PORT 1965    /* a URL's port when it names none */
#define GOPHER_DEFAULT_PORT 70      /* the same for gopher:// */
#define GOPHER_SELECTOR_MAX 255     /* bytes of a selector */
#define GOPHER_LINE_MAX     1024    /* selector, TAB, search words */
#define HOSTNAME_MAX        255
#define MIME_MAX            128
#define CACHE_FILE_MAX      (256 * 1024)  /* larger files are streamed */
#define LISTEN_MAX          16
#define HOSTNAMES_MAX       32     /* names of all hosts, aliases too */
#define HOSTS_MAX           16     /* host blocks */
#define WRAP_DEFAULT        70

#define ATTR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* buf.c: the one growable byte buffer; always NUL-terminated. */
/*
 * Once an allocation fails, a buffer stays failed until it is emptied
 * (buf_reset, buf_free): every later write does nothing and returns -1,
 * so that a writer of many parts may check once, with buf_status(), at
 * the end; and an answer that failed can still be replaced by an error.
 */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	bool	 failed;
};
void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
int	 buf_reserve(struct buf *, size_t);
int	 buf_pread(struct buf *, int, off_t);
int	 buf_status(const struct buf *);
void	 buf_fail(struct buf *);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_puts(struct buf *, const char *);
int	 buf_putc(struct buf *, int);
int	 buf_printf(struct buf *, const char *, ...) ATTR_PRINTF(2, 3);
int	 buf_vprintf(struct buf *, const char *, va_list) ATTR_PRINTF(2, 0);
char	*buf_steal(struct buf *);
struct blob {			/* immutable bytes with shared owners */
	char	*data;		/* NUL-terminated */
	size_t	 len;
	size_t	 refs;
};
struct blob *blob_from(struct buf *);
struct blob *blob_ref(struct blob *);
void	 blob_release(struct blob *);

/* utf8.c: UTF-8 decoding, validation and repair. */
#define UTF8_REPLACEMENT 0xFFFD
int	 utf8_decode(const char *, size_t, uint32_t *);
int	 utf8_next(const char *, size_t, uint32_t *);
int	 utf8_encode(uint32_t, char out[4]);
bool	 utf8_valid(const char *, size_t);
int	 utf8_repair(struct buf *, const char *, size_t);
size_t	 utf8_chars(const char *, size_t);
int	 utf8_width(uint32_t);
size_t	 utf8_columns(const char *, size_t);

/* url.c: URLs and paths; pure functions, no I/O. */
struct url {
	char	 scheme[16];		/* lower case */
	char	 host[HOSTNAME_MAX + 1];	/* lower case, IPv6 without [] */
	int	 port;			/* -1 when absent */
	char	 path[GEMINI_URL_MAX + 1];	/* percent-decoded */
	char	 query[GEMINI_URL_MAX + 1];	/* as sent, still encoded */
	bool	 has_query;
};
int	 url_parse(const char *, size_t, struct url *, const char **);
int	 url_decode(const char *, size_t, char *, size_t, size_t *);
int	 url_hexval(int);
int	 url_encode_path(struct buf *, const char *);
int	 path_check(const char *, const char **);
bool	 path_segment_ok(const char *);
bool	 path_ends_with(const char *, const char *);
void	 url_squeeze_slashes(char *);
bool	 url_host_equal(const char *, const char *);
int	 url_host_ascii(const char *, char *, size_t);
bool	 url_valid_host(const char *);
bool	 url_has_scheme(const char *);
int	 url_merge_path(struct buf *, const char *, const char *, size_t);

/*
 * gemtext.c: the gemtext line model shared by every reader and writer.
 * A document fails as a buffer does (above): once an add fails, it stays
 * failed until gmi_free; later adds do nothing and return -1, gmi_status()
 * says so once at the end; gmi_write() of it fails its buffer, and the
 * Gopher renderers fail on it too.
 */
enum gmi_type {
	GMI_TEXT,
	GMI_LINK,
	GMI_H1,
	GMI_H2,
	GMI_H3,
	GMI_ITEM,
	GMI_QUOTE,
	GMI_PRE_START,		/* text holds the alt text */
	GMI_PRE,		/* one verbatim line */
	GMI_PRE_END,
};
struct gmi_line {
	enum gmi_type	 type;
	char		*text;	/* never NULL; label for links */
	char		*url;	/* GMI_LINK only, else NULL */
};
struct gmi_doc {
	struct gmi_line	*lines;
	size_t		 len;
	size_t		 cap;
	bool		 failed;
};
void	 gmi_init(struct gmi_doc *);
void	 gmi_free(struct gmi_doc *);
int	 gmi_status(const struct gmi_doc *);
void	 gmi_fail(struct gmi_doc *);
int	 gmi_add(struct gmi_doc *, enum gmi_type, const char *, size_t);
int	 gmi_add_link(struct gmi_doc *, const char *, const char *);
int	 gmi_add_buf(struct gmi_doc *, enum gmi_type, const struct buf *);
int	 gmi_printf(struct gmi_doc *, enum gmi_type, const char *, ...)
	    ATTR_PRINTF(3, 4);
int	 gmi_parse(struct gmi_doc *, const char *, size_t);
int	 gmi_write(const struct gmi_doc *, struct buf *);
const char *gmi_title(const struct gmi_doc *);
#define GEMTEXT_MIME	"text/gemini; charset=utf-8"	/* as lumbar sends it */
extern const char *const gemtext_suffixes[];	/* NULL-terminated */
bool	 gemtext_name(const char *);
bool	 gemtext_mime(const char *);

/* redirect.c: pages moved (31, 30) or gone (52), by path or prefix. */
struct redirect {
	int		 status;	/* 31, 30 or 52 */
	char		*from;		/* a prefix without its "*" */
	size_t		 fromlen;
	bool		 prefix;
	char		*to;		/* without its "*"; NULL when gone */
	bool		 to_rest;	/* the rest of the path appended */
};
struct redirects {
	struct redirect	*v;
	size_t		 n;
	size_t		 cap;
};
int	 redirect_add(struct redirects *, int, const char *, struct buf *);
const struct redirect *redirect_find(const struct redirects *, const char *);
int	 redirect_target(const struct redirect *, const char *, bool,
	    struct buf *);
void	 redirect_free(struct redirects *);

/* host.c: the capsules served, each under its names (a host block of
 * the configuration file, or the one the command line describes). */
struct capsule;
struct search_index;
struct host {
	const char	*names[HOSTNAMES_MAX];	/* its name, then aliases */
	size_t		 nnames;
	const char	*root;
	const char	*lang;			/* NULL or "": no lang= */
	int		 listing;		/* 1, 0; -1: the global one */
	struct redirects redirects;		/* its own; the global after */
	const char	*log;			/* its access log, or NULL */
	int		 max_conns;		/* its answers at once; 0: any */
	/* What hosts_open() makes of it for the workers to serve: */
	const struct redirects *global;		/* the global redirects */
	struct capsule	*capsule;		/* the root and its caches */
	struct search_index *index;		/* its pages only */
	int		 logfd;			/* log opened, or -1 */
};
struct config;
int	 hosts_open(const struct config *, bool, const char **);
void	 hosts_note(void);
void	 hosts_close(void);
size_t	 hosts_count(void);
const struct host *host_at(size_t);
const struct host *host_find(const char *);
const struct host *host_gopher(void);
struct response;
int	 host_admit(const struct host *, struct response *);
const struct redirect *host_redirect(const struct host *, const char *);
void	 hosts_flush(void);
const char *hosts_jail(void);

/* settings.c: the configuration every module reads, its one owner: the
 * defaults, the command line's and the file's settings, what follows from
 * them, set at start and, for what a reload may change, on SIGHUP. */
struct config_str {		/* a string a setting holds, owned */
	struct config_str *next;
	char		 s[];
};
struct config {
	const char	*root;			/* the capsule */
	const char	*hostnames[HOSTNAMES_MAX];	/* first is the primary */
	size_t		 nhostnames;
	const char	*listen[LISTEN_MAX];	/* addresses; none: all */
	size_t		 nlisten;
	int		 port;			/* Gemini */
	int		 public_port;		/* in URLs clients send */
	int		 gopher_port;		/* 0: no Gopher listener */
	const char	*gopher_host;		/* written into menus */
	int		 gopher_menu_port;	/* written into menus */
	const char	*certdir;
	const char	*lang;			/* NULL or "": no lang= */
	bool		 listing;		/* directory listings */
	int		 timeout;		/* seconds to read a request */
	int		 grace;			/* seconds a stopping worker
						   finishes its answers */
	int		 wrap;			/* Gopher text columns */
	const char	*logtarget;		/* "stderr", "syslog" or a file */
	int		 verbose;
	const char	*user;			/* workers become this user */
	bool		 allow_root;
	bool		 seccomp;
	int		 workers;		/* processes serving */
	int		 max_conns;		/* 0: no limit; -1: from
						   memory (limit_plan) */
	int		 asked_max_conns;	/* as set, before limit_plan */
	int		 max_per_client;	/* 0: no limit */
	int		 rate;			/* new connections a second
						   from one client; 0: any */
	int		 burst;			/* of them at once */
	const char	*ticket_key;		/* session ticket key file */
	int		 ticket_rotate;		/* seconds a ticket key serves */
	const char	*tls_groups;		/* key exchange groups */
	bool		 proxy_protocol;	/* PROXY headers expected */
	const char	*proxy_from[LISTEN_MAX];	/* from these addresses */
	size_t		 nproxy_from;
	bool		 check_only;		/* --check: validate, exit */
	const char	*config_file;		/* -f: NULL for none */
	int		 log_format;		/* LOG_FMT_* */
	int		 log_client;		/* LOG_CLIENT_* */
	struct redirects redirects;		/* redirect, gone */
	struct host	 hosts[HOSTS_MAX];	/* host blocks, or the one
						   the global settings make */
	size_t		 nhosts;
	bool		 blocks;		/* hosts from host blocks */
	struct config_str *strings;		/* what the file's lines hold */
	int		 argc;			/* the command line, read */
	char		**argv;			/* again on SIGHUP */
};
extern struct config conf;
enum {				/* settings_load(): not to serve, but */
	SETTINGS_HELP = 1,	/* --help */
	SETTINGS_VERSION,	/* --version */
	SETTINGS_USAGE,		/* a wrong command line */
};
int	 settings_load(struct config *, int, char **, struct buf *);
int	 settings_reload(void);
void	 settings_free(struct config *);

/* config.c: the configuration file's lines, handed to settings.c. */
typedef int (*config_set_fn)(void *, const char *, const char *, struct buf *);
int	 config_read(const char *, config_set_fn, void *, struct buf *);

/* cache.c: a cached file, shared by the lookups and responses holding
 * it; each holder gives its reference back. */
#define CFILE_DERIVED	2	/* forms kept of one file: a menu, a text */
struct cfile;
struct cfile *cfile_ref(struct cfile *);
void	 cfile_release(struct cfile *);
const char *cfile_data(const struct cfile *);
size_t	 cfile_size(const struct cfile *);
struct blob *cfile_derived(const struct cfile *, int, const char *);
void	 cfile_derive(struct cfile *, int, const char *, struct blob *);

/* capsule.c: paths inside a capsule's root and what they name there
 * (the files' MIME types: mime.c). */
enum cap_kind {			/* what capsule_lookup() found */
	CAP_FILE,		/* a file: the lookup holds it */
	CAP_LISTING,		/* a directory without index.gmi */
	CAP_REDIRECT,		/* a directory asked without its slash */
	CAP_NOT_FOUND,
	CAP_FORBIDDEN,		/* unreadable */
	CAP_ERROR,		/* out of memory, I/O error */
};
struct lookup {			/* what a CAP_FILE needs to be sent */
	struct cfile	*file;		/* referenced: lookup_release() it */
	int		 fd;		/* large file (no cfile_data), or -1 */
	off_t		 size;
	char		 mime[MIME_MAX];	/* by its name, else contents */
};
int	 capsule_init(const char **);
void	 capsule_close(void);
struct capsule *capsule_open(const char *, const char **);
void	 capsule_free(struct capsule *);
enum cap_kind capsule_lookup(struct capsule *, const char *, struct lookup *);
void	 lookup_release(struct lookup *);
int	 capsule_mime(void *, const char *, char *, size_t);
void	 capsule_flush(struct capsule *);

/* listing.c: the page of a directory without index.gmi. */
int	 capsule_listing(struct capsule *, const char *, struct gmi_doc *);

/* walk.c: every gemtext page of a capsule, for search.c and check.c. */
typedef int (*capsule_walk_fn)(void *, const char *, const char *, size_t);
int	 capsule_walk(struct capsule *, capsule_walk_fn, void *, size_t);

/* response.c: what a protocol handler hands back to the event loop.
 * Every byte it sends is its own or held by a reference (file, blob)
 * until the response is cleared, whatever other requests do meanwhile. */
enum resp_kind {
	RESP_PLAIN,		/* ends where the connection does: a Gemini
				   answer, a Gopher text or file */
	RESP_MENU,		/* a Gopher menu, ended by its "." line */
	RESP_REFUSAL,		/* a refusal or failure: status and reason */
};
struct response {
	enum resp_kind	 kind;
	int		 status;	/* Gemini code; Gopher logs the same */
	const char	*reason;	/* RESP_REFUSAL: why; a literal, as it
					   may outlive what made it */
	struct buf	 out;		/* header, and a generated body */
	struct cfile	*file;		/* then a cached body, which holds */
	struct blob	*blob;		/* or a shared one, which holds */
	const char	*body;		/* these bytes */
	size_t		 bodylen;
	int		 fd;		/* or a streamed one */
	off_t		 left;
	int		 logfd;		/* the host's access log, or -1 */
	int		 hostslot;	/* the host it is counted for, or -1 */
};
void	 response_init(struct response *);
void	 response_clear(struct response *);
void	 response_ended(struct response *);
void	 response_take(struct response *, struct lookup *);
void	 response_blob(struct response *, struct blob *);

/* search.c: the full-text index of a capsule and queries against it. */
#define SEARCH_PATH	  "/search"	/* wins over a capsule file */
#define SEARCH_QUERY_MAX  256		/* bytes of a decoded query */
#define SEARCH_WORDS_MAX  16		/* distinct words in a query */
#define SEARCH_WORD_MAX	  64		/* bytes of a word; longer is cut */
#define SEARCH_LIST_MAX	  50		/* results listed on one page */
#define SEARCH_FILE_MAX	  (8 * 1024 * 1024)	/* larger pages unindexed */
struct search_hit {
	const char	*path;		/* inside the capsule, from "/" */
	const char	*title;
	const char	*text;		/* the indexed lines, for snippets */
	size_t		 textlen;
	size_t		 at;		/* first query word in text, or textlen */
	unsigned	 in_title;	/* query words in the title */
	unsigned long	 score;
	uint32_t	 order;		/* the page's place by path: ties */
};
struct search_result {
	struct search_hit *hits;	/* the best matches, best first */
	size_t		 nhits;		/* kept: at most the max asked */
	size_t		 n;		/* every match, counted */
	char		 words[SEARCH_WORDS_MAX][SEARCH_WORD_MAX + 1];
	size_t		 nwords;
};
size_t	 search_word(const char *, size_t, size_t *, char *, size_t *);
struct search_index *search_new(void);
int	 search_add(struct search_index *, const char *, const char *,
	    size_t);
int	 search_finish(struct search_index *);
void	 search_free(struct search_index *);
size_t	 search_docs(const struct search_index *);
int	 search_check(const char *, size_t, const char **);
int	 search_run(const struct search_index *, const char *, size_t,
	    size_t, struct search_result *);
void	 search_result_free(struct search_result *);
struct search_index *search_build(struct capsule *, const char **);

/* search_page.c: the page answering a search, as gemtext. */
int	 search_snippet(struct buf *, const struct search_result *,
	    const struct search_hit *);
int	 search_page(const struct search_index *, struct gmi_doc *,
	    const char *, size_t);

/* tls.c: one client's TLS connection, non-blocking, in the shape of
 * libtls; the certificates' set-up is in tls.h. */
enum {
	TCONN_ERROR = -1,	/* over: an error, or the client closed */
	TCONN_WANT_READ = -2,	/* call again when the socket is readable */
	TCONN_WANT_WRITE = -3,	/* call again when it is writable */
};
struct tconn;
struct tconn *tconn_accept(int);
int	 tconn_handshake(struct tconn *);
ssize_t	 tconn_read(struct tconn *, void *, size_t);
ssize_t	 tconn_write(struct tconn *, const void *, size_t);
int	 tconn_close(struct tconn *);
void	 tconn_hold(struct tconn *);
void	 tconn_release(struct tconn *);
int	 tconn_flush(struct tconn *);
const char *tconn_servername(struct tconn *);
void	 tconn_free(struct tconn *);

/* server.c: the event loop. */
int	 server_listen(void);
int	 server_prepare(void);
int	 server_run(void);

/* secrets.c: keys and the log, kept out of what is served. */
struct stat;
int	 secrets_check(void (*)(const char *, ...));
void	 secrets_note(void);
void	 secrets_note_keys(const char *const *, size_t);
bool	 secrets_is(const struct stat *);

/* check.c: lumbar --check. */
int	 check_all(void);

/* limit.c: connection limits shared by every worker. */
struct sockaddr;
int	 limit_init(size_t);
void	 limit_reset(size_t);
void	 limit_worker(size_t);
#define LIMIT_WAIT	5	/* seconds a 44 over a connection limit says */
int	 limit_acquire(const struct sockaddr *, int *);
void	 limit_release(int);
int	 limit_host_take(size_t, int);
void	 limit_host_give(int);
int	 limit_plan(char *, size_t);
#define REFUSED_MAX	64	/* over-limit clients a worker answers at
				   once; beyond, closed unanswered */

/* proxy.c: the PROXY protocol header of a load balancer. */
#define PROXY_HEADER_MAX 536
struct sockaddr_storage;
bool	 proxy_allowed(const struct sockaddr_storage *);
int	 proxy_maybe(const char *, size_t);
int	 proxy_parse(const char *, size_t, struct sockaddr_storage *, size_t *);

/* sandbox.c: chroot, user change and seccomp for a worker. */
struct passwd;
int	 sandbox_worker(const struct passwd *, const char **);
int	 sandbox_user_reads(const struct passwd *, const char *);

/* workers.c: the parent process, forking and supervising workers. */
int	 workers_run(const struct passwd *, int (*)(void));

/* gemini.c: one Gemini request line in, a response out; the event
 * loop's refusals (59, 44) in Gemini. */
void	 gemini_handle(const char *, size_t, const char *, struct response *);
void	 gemini_refuse(struct response *, const char *, int);
bool	 gemini_serves_host(const char *);

/* render_gopher.c: the gemtext model as a Gopher menu or plain text. */
struct gopher_site {		/* where this server's own items point */
	const char	*host;		/* written into menus */
	int		 port;
	int		 wrap;		/* text columns; 0: WRAP_DEFAULT */
	const char	*gemini_host;	/* in links to its pages on Gemini */
	int		 gemini_port;
};
struct gopher_page {
	const struct gopher_site *site;	/* the server it is served from */
	const char	*path;		/* its selector: links resolve from it */
	const char	*text_sel;	/* its plain-text form, or NULL */
	int		(*mime)(void *, const char *, char *, size_t);	/* of a
							   link */
	void		*mime_arg;	/* the capsule mime() looks in */
};
int	 gopher_render_menu(struct buf *, const struct gmi_doc *,
	    const struct gopher_page *);
int	 gopher_render_text(struct buf *, const struct gmi_doc *,
	    const struct gopher_page *);
int	 gopher_item(struct buf *, char, const char *, const char *,
	    const char *, int);
int	 gopher_error(struct buf *, const char *);
int	 gopher_plus_error(struct buf *, int, const char *);
int	 gopher_menu_end(struct buf *);
int	 gopher_url_page(struct buf *, const char *);

/* gopher.c: one Gopher request line in, a response out; the event
 * loop's refusals as Gopher error items. */
void	 gopher_handle(const char *, size_t, struct response *);
void	 gopher_refuse(struct response *, const char *, int);

/* log.c: the request log and diagnostics. */
enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
int	 log_init(const char *, int);
void	 log_msg(enum log_level, const char *, ...) ATTR_PRINTF(2, 3);
void	 log_request(const char *, const char *, const char *, size_t,
	    int, size_t, double, const char *, int);
void	 log_escape(struct buf *, const char *, size_t);
void	 log_cut(const char *, const char *, size_t, const char *);
enum { LOG_FMT_LUMBAR, LOG_FMT_COMMON, LOG_FMT_COMBINED };
enum { LOG_CLIENT_FULL, LOG_CLIENT_ANONYMIZED, LOG_CLIENT_NONE };
int	 log_format_named(const char *);
int	 log_client_named(const char *);
void	 log_style(int, int, int);
const char *log_client_addr(const char *, bool, char *, size_t);
void	 log_buffer(void);
void	 log_flush(void);
bool	 log_pending(void);
void	 log_tick(int64_t, bool);
#define LOG_RATE_SECS	10	/* a repeated warning: one line this often */
struct log_rate {
	time_t		 next;		/* monotonic s: the next line may go */
	unsigned long	 quiet;		/* left out since the last line */
};
void	 log_rated(struct log_rate *, enum log_level, const char *, ...)
	    ATTR_PRINTF(3, 4);
void	 fatal(const char *, ...) ATTR_PRINTF(1, 2) __attribute__((noreturn));
int64_t	 now_us(void);

#endif
