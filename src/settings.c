/*
 * settings.c: the one owner of the configuration every module reads
 * (conf): its defaults, the settings the command line and the file
 * (config.c reads its lines) name, with one handler for both, what
 * follows from them once all are read, and what a reload may change.
 * main.c hands it the command line; nothing else sets a default.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"

/* What a setting is when neither the command line nor the file names it. */
static const struct config defaults = {
	.root = "capsule",
	.port = GEMINI_DEFAULT_PORT,
	.gopher_port = GOPHER_DEFAULT_PORT,
	.gopher_menu_port = 0,
	.certdir = "certs",
	.lang = "en",
	.listing = true,
	.timeout = 10,
	.grace = 300,
	.ticket_rotate = 3600,
	.wrap = WRAP_DEFAULT,
	.logtarget = "stderr",
	.verbose = LOG_LVL_INFO,
	.seccomp = true,
	.max_conns = -1,		/* from memory: limit_plan() */
	.max_per_client = 128,
	.rate = 50,
	.burst = 200,
};
struct config conf;

enum {
	OPT_NO_LISTING = 256,
	OPT_GOPHER_HOST,
	OPT_GOPHER_MENU_PORT,
	OPT_LOG,
	OPT_ALLOW_ROOT,
	OPT_NO_SECCOMP,
	OPT_MAX_CONNS,
	OPT_MAX_PER_CLIENT,
	OPT_TICKET_KEY,
	OPT_TICKET_ROTATE,
	OPT_TLS_GROUPS,
	OPT_PUBLIC_PORT,
	OPT_PROXY_PROTOCOL,
	OPT_PROXY_FROM,
	OPT_GRACE,
	OPT_RATE,
	OPT_BURST,
	OPT_REDIRECT,
	OPT_REDIRECT_TEMPORARY,
	OPT_GONE,
	OPT_LOG_FORMAT,
	OPT_LOG_CLIENT,
	OPT_LISTING,
	OPT_LAST
};

static const struct option longopts[] = {
	{ "root",		required_argument, NULL, 'r' },
	{ "hostname",		required_argument, NULL, 'H' },
	{ "listen",		required_argument, NULL, 'l' },
	{ "port",		required_argument, NULL, 'p' },
	{ "gopher-port",	required_argument, NULL, 'g' },
	{ "gopher-host",	required_argument, NULL, OPT_GOPHER_HOST },
	{ "gopher-menu-port",	required_argument, NULL, OPT_GOPHER_MENU_PORT },
	{ "certs",		required_argument, NULL, 'c' },
	{ "lang",		required_argument, NULL, 'L' },
	{ "no-listing",		no_argument,	   NULL, OPT_NO_LISTING },
	{ "timeout",		required_argument, NULL, 't' },
	{ "grace",		required_argument, NULL, OPT_GRACE },
	{ "wrap",		required_argument, NULL, 'w' },
	{ "log",		required_argument, NULL, OPT_LOG },
	{ "log-format",		required_argument, NULL, OPT_LOG_FORMAT },
	{ "log-client",		required_argument, NULL, OPT_LOG_CLIENT },
	{ "user",		required_argument, NULL, 'u' },
	{ "allow-root",		no_argument,	   NULL, OPT_ALLOW_ROOT },
	{ "no-seccomp",		no_argument,	   NULL, OPT_NO_SECCOMP },
	{ "workers",		required_argument, NULL, 'j' },
	{ "max-conns",		required_argument, NULL, OPT_MAX_CONNS },
	{ "max-per-client",	required_argument, NULL, OPT_MAX_PER_CLIENT },
	{ "rate",		required_argument, NULL, OPT_RATE },
	{ "burst",		required_argument, NULL, OPT_BURST },
	{ "redirect",		required_argument, NULL, OPT_REDIRECT },
	{ "redirect-temporary",	required_argument, NULL, OPT_REDIRECT_TEMPORARY },
	{ "gone",		required_argument, NULL, OPT_GONE },
	{ "ticket-key",		required_argument, NULL, OPT_TICKET_KEY },
	{ "ticket-rotate",	required_argument, NULL, OPT_TICKET_ROTATE },
	{ "tls-groups",		required_argument, NULL, OPT_TLS_GROUPS },
	{ "public-port",	required_argument, NULL, OPT_PUBLIC_PORT },
	{ "proxy-protocol",	no_argument,	   NULL, OPT_PROXY_PROTOCOL },
	{ "proxy-from",		required_argument, NULL, OPT_PROXY_FROM },
	{ "config",		required_argument, NULL, 'f' },
	{ "check",		no_argument,	   NULL, 'n' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* "listing on|off": the file's way to say --no-listing, also per host. */
static const struct option listing_opt =
	{ "listing", no_argument, NULL, OPT_LISTING };

/* A number from min to max into *out. */
static int
number(const char *opt, const char *s, long min, long max, int *out,
    struct buf *why)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max) {
		buf_printf(why, "%s: \"%s\" is not a number from %ld to %ld",
		    opt, s, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* A flag: on the command line it has no value; in the file none, "yes"
 * or "on" sets it, and "no" or "off" leaves it unset. */
static int
flag(const char *opt, const char *arg, bool *on, struct buf *why)
{
	if (arg == NULL || strcmp(arg, "yes") == 0 || strcmp(arg, "on") == 0)
		*on = true;
	else if (strcmp(arg, "no") == 0 || strcmp(arg, "off") == 0)
		*on = false;
	else {
		buf_printf(why, "%s takes no value, or yes or no, not \"%s\"",
		    opt, arg);
		return -1;
	}
	return 0;
}

/* A copy of s that c owns (settings_free frees it): what a setting keeps
 * of a file's line, which is read into a reused buffer. */
static char *
keep(struct config *c, const char *s)
{
	struct config_str	*k;
	size_t			 n = strlen(s);

	if ((k = malloc(sizeof(*k) + n + 1)) == NULL)
		return NULL;
	memcpy(k->s, s, n + 1);
	k->next = c->strings;
	c->strings = k;
	return k->s;
}

/* What c owns: the strings it keeps, the redirect lists. */
void
settings_free(struct config *c)
{
	struct config_str *k;
	size_t		   i;

	while ((k = c->strings) != NULL) {
		c->strings = k->next;
		free(k);
	}
	redirect_free(&c->redirects);
	for (i = 0; i < c->nhosts; i++)
		redirect_free(&c->hosts[i].redirects);
	c->nhosts = 0;
}

/* A host name as A-labels (SNI, DNS and certificates use them). */
static const char *
host_name(struct config *c, const char *opt, const char *arg,
    struct buf *why)
{
	char	 a[HOSTNAME_MAX + 1];
	char	*s;

	if (!url_valid_host(arg) || url_host_ascii(arg, a, sizeof(a)) == -1) {
		buf_printf(why, "%s: \"%s\" is not a host name (a DNS name or "
		    "IP address, without scheme or port)", opt, arg);
		return NULL;
	}
	if ((s = keep(c, a)) == NULL)
		buf_printf(why, "%s: out of memory", opt);
	return s;
}

/* A lang= value: one token a client can read back out of the header. */
static int
lang_tag(const char *opt, const char *arg, struct buf *why)
{
	if (strpbrk(arg, " \t\r\n;") != NULL) {
		buf_printf(why, "%s: \"%s\" is not a language tag", opt, arg);
		return -1;
	}
	return 0;
}

/* A redirect, redirect-temporary or gone line (ch) into rds. */
static int
add_redirect(struct redirects *rds, int ch, const char *opt, const char *arg,
    struct buf *why)
{
	if (redirect_add(rds, ch == OPT_REDIRECT ? 31 : ch == OPT_GONE ? 52 :
	    30, arg, why) == -1) {
		buf_printf(why, " (%s)", opt);
		return -1;
	}
	return 0;
}

/* The settings with a rule of their own: each sets ch to arg in c. */
typedef int (*setting_fn)(struct config *, int, const char *, const char *,
    bool, struct buf *);

/* Room for one more of a list that holds max; else why says so. */
static bool
room(size_t n, size_t max, const char *opt, const char *what,
    struct buf *why)
{
	if (n < max)
		return true;
	buf_printf(why, "%s: at most %zu %s", opt, max, what);
	return false;
}

static int
set_hostname(struct config *c, int ch, const char *opt, const char *arg,
    bool on, struct buf *why)
{
	if (!room(c->nhostnames, HOSTNAMES_MAX, opt, "names", why) ||
	    (c->hostnames[c->nhostnames] = host_name(c, opt, arg, why)) == NULL)
		return -1;
	c->nhostnames++;
	return 0;
}

static int
set_gopher_host(struct config *c, int ch, const char *opt, const char *arg,
    bool on, struct buf *why)
{
	return (c->gopher_host = host_name(c, opt, arg, why)) ? 0 : -1;
}

static int
set_lang(struct config *c, int ch, const char *opt, const char *arg,
    bool on, struct buf *why)
{
	if (lang_tag(opt, arg, why) == -1)
		return -1;
	c->lang = arg;
	return 0;
}

/* log-format and log-client: a word from their list. */
static int
set_log_style(struct config *c, int ch, const char *opt, const char *arg,
    bool on, struct buf *why)
{
	bool	 format = ch == OPT_LOG_FORMAT;
	int	 v = format ? log_format_named(arg) : log_client_named(arg);

	if (v == -1) {
		buf_printf(why, "%s: \"%s\": say %s", opt, arg, format ?
		    "lumbar, common or combined" : "full, anonymized or none");
		return -1;
	}
	*(format ? &c->log_format : &c->log_client) = v;
	return 0;
}

/* listen and proxy-from: lists of addresses, proxy-from's checked. */
static int
set_address(struct config *c, int ch, const char *opt, const char *arg,
    bool on, struct buf *why)
{
	unsigned char	 a6[16];
	bool		 proxy = ch == OPT_PROXY_FROM;
	size_t		*n = proxy ? &c->nproxy_from : &c->nlisten;

	if (!room(*n, LISTEN_MAX, opt, "addresses", why))
		return -1;
	if (proxy && inet_pton(AF_INET, arg, &a6) != 1 &&
	    inet_pton(AF_INET6, arg, &a6) != 1) {
		buf_printf(why, "%s: not an IPv4 or IPv6 address: %s", opt,
		    arg);
		return -1;
	}
	(proxy ? c->proxy_from : c->listen)[(*n)++] = arg;
	return 0;
}

static int
set_redirect(struct config *c, int ch, const char *opt, const char *arg,
    bool on, struct buf *why)
{
	return add_redirect(&c->redirects, ch, opt, arg, why);
}

/* -v and -q: how much is logged, one setting. */
static int
set_verbose(struct config *c, int ch, const char *opt, const char *arg,
    bool on, struct buf *why)
{
	c->verbose = !on ? LOG_LVL_INFO : ch == 'v' ? LOG_LVL_DEBUG :
	    LOG_LVL_WARN;
	return 0;
}

/* How each option is kept in struct config. */
struct setting {
	int		 ch;		/* its longopts val */
	enum {
		SET_STR,	/* the value as given */
		SET_NUM,	/* a number from min to max */
		SET_ON,		/* a flag */
		SET_OFF,	/* a flag that turns the field off */
		SET_FN,		/* fn's rule */
	}		 kind;
	size_t		 off;		/* the field */
	long		 min, max;
	setting_fn	 fn;
};
#define FIELD(f)		offsetof(struct config, f)
#define STR(ch, f)		{ ch, SET_STR, FIELD(f), 0, 0, NULL }
#define NUM(ch, f, lo, hi)	{ ch, SET_NUM, FIELD(f), lo, hi, NULL }
#define ON(ch, f)		{ ch, SET_ON, FIELD(f), 0, 0, NULL }
#define OFF(ch, f)		{ ch, SET_OFF, FIELD(f), 0, 0, NULL }
#define FN(ch, fn)		{ ch, SET_FN, 0, 0, 0, fn }

static const struct setting settings[] = {
	STR('r', root),
	FN('H', set_hostname),
	FN('l', set_address),
	NUM('p', port, 1, 65535),
	NUM('g', gopher_port, 0, 65535),
	FN(OPT_GOPHER_HOST, set_gopher_host),
	NUM(OPT_GOPHER_MENU_PORT, gopher_menu_port, 1, 65535),
	STR('c', certdir),
	FN('L', set_lang),
	OFF(OPT_NO_LISTING, listing),
	ON(OPT_LISTING, listing),
	NUM('t', timeout, 1, 3600),
	NUM(OPT_GRACE, grace, 0, 86400),
	NUM('w', wrap, 20, 1000),
	STR(OPT_LOG, logtarget),
	FN(OPT_LOG_FORMAT, set_log_style),
	FN(OPT_LOG_CLIENT, set_log_style),
	STR('u', user),
	ON(OPT_ALLOW_ROOT, allow_root),
	OFF(OPT_NO_SECCOMP, seccomp),
	NUM('j', workers, 1, 256),
	NUM(OPT_MAX_CONNS, max_conns, 0, 1000000),
	NUM(OPT_MAX_PER_CLIENT, max_per_client, 0, 1000000),
	NUM(OPT_RATE, rate, 0, 1000000),
	NUM(OPT_BURST, burst, 1, 1000000),
	NUM(OPT_PUBLIC_PORT, public_port, 1, 65535),
	STR(OPT_TICKET_KEY, ticket_key),
	STR(OPT_TLS_GROUPS, tls_groups),
	NUM(OPT_TICKET_ROTATE, ticket_rotate, 1, 7 * 24 * 3600),
	ON(OPT_PROXY_PROTOCOL, proxy_protocol),
	FN(OPT_PROXY_FROM, set_address),
	FN(OPT_REDIRECT, set_redirect),
	FN(OPT_REDIRECT_TEMPORARY, set_redirect),
	FN(OPT_GONE, set_redirect),
	ON('n', check_only),
	FN('v', set_verbose),
	FN('q', set_verbose),
};

/*
 * Set the option ch to arg in c: the one handler of the command line and
 * of the configuration file, so that both know the same settings.  opt
 * names it in messages ("--port", or "port" in the file).  Returns -1
 * with the reason in why.
 */
static int
set_option(struct config *c, int ch, const char *opt, const char *arg,
    struct buf *why)
{
	const struct setting	*s;
	char			*field;
	bool			 on = false;

	/* A flag's value, checked once for all of them. */
	if ((arg == NULL || strcmp(arg, "yes") == 0 || strcmp(arg, "no") ==
	    0) && flag(opt, arg, &on, why) == -1)
		return -1;
	for (s = settings; s < settings + sizeof(settings) /
	    sizeof(settings[0]) && s->ch != ch; s++)
		;
	if (s == settings + sizeof(settings) / sizeof(settings[0])) {
		buf_printf(why, "%s: not a setting", opt);
		return -1;
	}
	field = (char *)c + s->off;
	switch (s->kind) {
	case SET_STR:
		*(const char **)(void *)field = arg;
		return 0;
	case SET_NUM:
		return number(opt, arg, s->min, s->max, (int *)(void *)field,
		    why);
	case SET_ON:
		*(bool *)(void *)field = on;
		return 0;
	case SET_OFF:
		*(bool *)(void *)field = !on;
		return 0;
	case SET_FN:
		break;
	}
	return s->fn(c, ch, opt, arg, on, why);
}

/* Options of the command line only: the file cannot name them. */
static bool
command_line_only(int ch)
{
	return ch == 'f' || ch == 'n' || ch == 'h' || ch == 'V';
}

/* Lists whose file lines add to the command line's: the rest, given on
 * the command line, replace the file's. */
static bool
adds_up(int ch)
{
	return ch == OPT_REDIRECT || ch == OPT_REDIRECT_TEMPORARY ||
	    ch == OPT_GONE;
}

/* What reading the file keeps from line to line. */
struct file_ctx {
	struct config	*c;
	const bool	*given;		/* by ch: on the command line */
	struct host	*block;		/* the host block read, or NULL */
};

/* Does a host of c already have the name? */
static bool
name_taken(const struct config *c, const char *name)
{
	size_t i, k;

	for (i = 0; i < c->nhosts; i++)
		for (k = 0; k < c->hosts[i].nnames; k++)
			if (url_host_equal(name, c->hosts[i].names[k]))
				return true;
	return false;
}

/* "host NAME" and "alias NAME": a host block's names. */
static int
host_line(struct file_ctx *fc, bool alias, const char *value,
    struct buf *why)
{
	struct config	*c = fc->c;
	const char	*opt = alias ? "alias" : "host", *name;
	struct host	*h;

	if (value == NULL) {
		buf_printf(why, "%s needs a host name", opt);
		return -1;
	}
	if (alias && fc->block == NULL) {
		buf_puts(why, "alias belongs in a host block, after a host "
		    "line (a name for the whole server is hostname)");
		return -1;
	}
	if ((name = host_name(c, opt, value, why)) == NULL)
		return -1;
	if (name_taken(c, name)) {
		buf_printf(why, "%s %s: that name is already a host's", opt,
		    name);
		return -1;
	}
	if (!alias && c->nhosts == HOSTS_MAX) {
		buf_printf(why, "host: at most %d hosts", HOSTS_MAX);
		return -1;
	}
	if (!alias) {
		h = fc->block = &c->hosts[c->nhosts++];
		memset(h, 0, sizeof(*h));
		h->listing = -1;
		c->blocks = true;
	} else if ((h = fc->block)->nnames == HOSTNAMES_MAX) {
		buf_printf(why, "alias: at most %d names", HOSTNAMES_MAX);
		return -1;
	}
	h->names[h->nnames++] = name;
	return 0;
}

/* A setting inside a host block: what the host's own pages are. */
static int
block_set(struct file_ctx *fc, const struct option *o, const char *name,
    const char *value, struct buf *why)
{
	struct host	*h = fc->block;
	const char	*v = NULL;
	bool		 on;
	int		 fd;

	if (o->has_arg == required_argument && value == NULL) {
		buf_printf(why, "%s needs a value", name);
		return -1;
	}
	if (value != NULL && (v = keep(fc->c, value)) == NULL) {
		buf_puts(why, "out of memory");
		return -1;
	}
	switch (o->val) {
	case 'r':
		/* Here, so that the error names the line. */
		if ((fd = open(v, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			buf_printf(why, "root %s: %s", v, strerror(errno));
			return -1;
		}
		close(fd);
		h->root = v;
		return 0;
	case 'L':
		if (lang_tag(name, v, why) == -1)
			return -1;
		h->lang = v;
		return 0;
	case OPT_NO_LISTING:
		if (flag(name, value, &on, why) == -1)
			return -1;
		h->listing = !on;
		return 0;
	case OPT_LISTING:
		if (flag(name, value, &on, why) == -1)
			return -1;
		h->listing = on;
		return 0;
	case OPT_LOG:
		/* A file: the server's log (stderr, syslog) keeps the rest. */
		if (v[0] == '\0' || strcmp(v, "stderr") == 0 ||
		    strcmp(v, "syslog") == 0) {
			buf_printf(why, "log: a host's access log is a file, "
			    "not \"%s\"", v);
			return -1;
		}
		h->log = v;
		return 0;
	case OPT_MAX_CONNS:
		return number(name, v, 0, 1000000, &h->max_conns, why);
	case OPT_REDIRECT:
	case OPT_REDIRECT_TEMPORARY:
	case OPT_GONE:
		return add_redirect(&h->redirects, o->val, name, v, why);
	}
	buf_printf(why, "%s is not a setting of a host block (root, lang, "
	    "listing, redirect, redirect-temporary, gone, alias, log, "
	    "max-conns): put it before the first host line", name);
	return -1;
}

/* One line of the file: its name is a long option's, in longopts. */
static int
file_set(void *ctx, const char *name, const char *value, struct buf *why)
{
	struct file_ctx		*fc = ctx;
	struct config		 scratch, *c;
	const struct option	*o;
	char			*v = NULL;
	bool			 on, overridden;
	int			 r;

	if (strcmp(name, "host") == 0 || strcmp(name, "alias") == 0)
		return host_line(fc, name[0] == 'a', value, why);
	for (o = longopts; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			break;
	if (o->name == NULL && strcmp(name, "listing") == 0)
		o = &listing_opt;
	if (o->name == NULL) {
		buf_printf(why, "\"%s\" is not a setting (lumbar.conf(5) "
		    "lists them)", name);
		return -1;
	}
	if (command_line_only(o->val)) {
		buf_printf(why, "%s is a command-line option only", name);
		return -1;
	}
	if (fc->block != NULL)
		return block_set(fc, o, name, value, why);
	if (o->has_arg == no_argument && flag(name, value, &on, why) == -1)
		return -1;
	if (o->has_arg == required_argument && value == NULL) {
		buf_printf(why, "%s needs a value", name);
		return -1;
	}
	/* The command line wins; the line is still checked.  Redirects
	 * add up: the file's lists and the command line's all apply. */
	overridden = (fc->given[o->val] || (o->val == OPT_LISTING &&
	    fc->given[OPT_NO_LISTING])) && !adds_up(o->val);
	scratch = defaults;
	c = overridden ? &scratch : fc->c;
	/* The line's buffer is reused: the setting keeps a copy.  A flag's
	 * value is read above; set_option() takes it as yes or no. */
	if (o->has_arg == no_argument)
		v = on ? NULL : "no";
	else if (value != NULL && (v = keep(c, value)) == NULL) {
		buf_puts(why, "out of memory");
		return -1;
	}
	r = set_option(c, o->val, name, v, why);
	settings_free(&scratch);
	return r;
}

/*
 * The hosts: the blocks, each taking the global root, lang and listing it
 * does not set, or else the one host the global settings describe.  Every
 * name of every host gets a certificate (tls.c): conf.hostnames lists them.
 */
static int
make_hosts(struct config *c, struct buf *why)
{
	struct host	*h;
	size_t		 i, k;

	if (!c->blocks) {
		if (c->nhostnames == 0)
			c->hostnames[c->nhostnames++] = "localhost";
		h = &c->hosts[0];
		memset(h, 0, sizeof(*h));
		memcpy(h->names, c->hostnames, sizeof(h->names));
		h->nnames = c->nhostnames;
		h->root = c->root;
		h->lang = c->lang;
		h->listing = c->listing;
		c->nhosts = 1;
		return 0;
	}
	if (c->nhostnames > 0) {
		buf_puts(why, "hostname: the configuration has host blocks; "
		    "name each host with host and alias instead");
		return -1;
	}
	for (i = 0; i < c->nhosts; i++) {
		h = &c->hosts[i];
		if (h->root == NULL)
			h->root = c->root;
		if (h->lang == NULL)
			h->lang = c->lang;
		if (h->listing == -1)
			h->listing = c->listing;
		for (k = 0; k < h->nnames; k++) {
			if (c->nhostnames == HOSTNAMES_MAX) {
				buf_printf(why, "host %s: more than %d names "
				    "(hosts and aliases) in all", h->names[0],
				    HOSTNAMES_MAX);
				return -1;
			}
			c->hostnames[c->nhostnames++] = h->names[k];
		}
	}
	return 0;
}

/* What follows from the settings, once all are read. */
static int
finish(struct config *c, struct buf *why)
{
	if (make_hosts(c, why) == -1)
		return -1;
	c->asked_max_conns = c->max_conns;
	if (c->gopher_host == NULL)
		c->gopher_host = c->hostnames[0];
	if (c->gopher_menu_port == 0)
		c->gopher_menu_port = c->gopher_port;
	if (c->public_port == 0)
		c->public_port = c->port;
	if (c->gopher_port == c->port) {
		buf_printf(why, "--gopher-port %d: that is also the Gemini port "
		    "(--port)", c->port);
		return -1;
	}
	if (c->proxy_protocol && c->nproxy_from == 0) {
		buf_puts(why, "--proxy-protocol: say which load balancer may "
		    "send PROXY headers with --proxy-from ADDR");
		return -1;
	}
	if (c->workers == 0) {
		/* The cores we may run on (taskset, CPUAffinity=, a cpuset),
		 * not all the machine's: two workers on one core cost more
		 * CPU per request than one. */
		cpu_set_t	 set;
		long		 n;

		n = sched_getaffinity(0, sizeof(set), &set) == 0 ?
		    CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
		c->workers = n < 1 ? 1 : n > 64 ? 64 : (int)n;
	}
	return 0;
}

/*
 * The command line, then the file it names (-f), into c, and what follows
 * from them.  Returns 0, or -1 with the reason in why, or what the command
 * line asks instead of serving: SETTINGS_HELP, SETTINGS_VERSION, or
 * SETTINGS_USAGE when it is wrong (why then says how, or is empty when
 * getopt_long() said it).
 */
int
settings_load(struct config *c, int argc, char **argv, struct buf *why)
{
	bool		 given[OPT_LAST] = { false };
	struct file_ctx	 fc = { c, given, NULL };
	char		 opt[64];
	int		 ch, i;

	*c = defaults;
	c->argc = argc;
	c->argv = argv;
	optind = 0;	/* from the start, also when read again */
	while ((ch = getopt_long(argc, argv, "r:H:l:p:g:c:L:t:w:u:j:f:nvqhV",
	    longopts, &i)) != -1) {
		switch (ch) {
		case 'f':
			c->config_file = optarg;
			continue;
		case 'h':
			return SETTINGS_HELP;
		case 'V':
			return SETTINGS_VERSION;
		case '?':
		case ':':
			return SETTINGS_USAGE;
		}
		/* The name as given, for messages. */
		for (i = 0; longopts[i].name != NULL && longopts[i].val != ch;
		    i++)
			;
		snprintf(opt, sizeof(opt), "--%s", longopts[i].name ?
		    longopts[i].name : "?");
		if (set_option(c, ch, opt, optarg, why) == -1)
			return -1;
		given[ch] = true;
		/* -v and -q set one thing, how much is logged. */
		if (ch == 'v' || ch == 'q')
			given['v'] = given['q'] = true;
	}
	if (optind != argc) {
		buf_printf(why, "unexpected argument \"%s\"", argv[optind]);
		return SETTINGS_USAGE;
	}
	if (c->config_file != NULL && config_read(c->config_file, file_set,
	    &fc, why) == -1)
		return -1;
	return finish(c, why);
}


static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_list(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!same_str(a[i], b[i]))
			return false;
	return true;
}

/* Report a setting the running server cannot change; false when it did. */
static bool
needs_restart(bool same, const char *name)
{
	if (!same)
		log_msg(LOG_LVL_WARN, "SIGHUP: %s: %s changed; that needs a "
		    "restart (systemctl restart lumbar), so it is kept as it "
		    "was until then", conf.config_file, name);
	return !same;
}

/* Report each setting of next the running server cannot change. */
static void
restart_settings(const struct config *next)
{
	needs_restart(same_list(conf.listen, conf.nlisten, next->listen,
	    next->nlisten), "listen");
	needs_restart(conf.port == next->port, "port");
	needs_restart(conf.gopher_port == next->gopher_port, "gopher-port");
	needs_restart(same_str(conf.certdir, next->certdir), "certs");
	needs_restart(same_str(conf.user, next->user), "user");
	needs_restart(conf.allow_root == next->allow_root, "allow-root");
	needs_restart(conf.seccomp == next->seccomp, "no-seccomp");
	needs_restart(conf.workers == next->workers, "workers");
	needs_restart(same_str(conf.ticket_key, next->ticket_key),
	    "ticket-key");
	needs_restart(same_str(conf.tls_groups, next->tls_groups),
	    "tls-groups");
	needs_restart(conf.proxy_protocol == next->proxy_protocol &&
	    same_list(conf.proxy_from, conf.nproxy_from, next->proxy_from,
	    next->nproxy_from), "proxy-protocol or proxy-from");
	needs_restart(same_str(conf.logtarget, next->logtarget), "log");
	needs_restart(conf.asked_max_conns == next->asked_max_conns,
	    "max-conns");
}

/*
 * What the next generation takes as it is.  The hosts, their roots and
 * names too: workers.c opens them (hosts_open) and loads their
 * certificates, a new name's made as on the first start.  conf takes
 * over next's redirects and strings.
 */
static void
adopt(struct config *next)
{
	size_t i;

	conf.root = next->root;
	conf.lang = next->lang;
	conf.listing = next->listing;
	conf.timeout = next->timeout;
	conf.grace = next->grace;
	conf.wrap = next->wrap;
	conf.public_port = next->public_port;
	conf.gopher_host = next->gopher_host;
	conf.gopher_menu_port = next->gopher_menu_port;
	conf.max_per_client = next->max_per_client;
	conf.rate = next->rate;
	conf.burst = next->burst;
	conf.ticket_rotate = next->ticket_rotate;
	conf.log_format = next->log_format;
	conf.log_client = next->log_client;
	conf.verbose = next->verbose;
	redirect_free(&conf.redirects);
	conf.redirects = next->redirects;
	memset(&next->redirects, 0, sizeof(next->redirects));
	for (i = 0; i < conf.nhosts; i++)
		redirect_free(&conf.hosts[i].redirects);
	memcpy(conf.hosts, next->hosts, sizeof(conf.hosts));
	conf.nhosts = next->nhosts;
	conf.blocks = next->blocks;
	next->nhosts = 0;	/* their redirects are conf's now */
	memcpy(conf.hostnames, next->hostnames, sizeof(conf.hostnames));
	conf.nhostnames = next->nhostnames;
	/* The strings taken, and those kept, stay conf's. */
	while (next->strings != NULL) {
		struct config_str *k = next->strings;

		next->strings = k->next;
		k->next = conf.strings;
		conf.strings = k;
	}
}

/*
 * SIGHUP: the command line and the file again, into the configuration
 * the next generation of workers forks with.  What needs the listeners,
 * the user, the certificates' names or the worker slots again is
 * reported and kept; a file with an error changes nothing.  conf takes
 * over every string read (a few bytes a reload): the settings it keeps
 * may point at older ones, and the new ones at these.
 */
int
settings_reload(void)
{
	static struct config	 next;
	struct buf		 why;
	int			 r;

	if (conf.config_file == NULL)
		return 0;
	buf_init(&why);
	r = settings_load(&next, conf.argc, conf.argv, &why);
	if (r != 0)
		log_msg(LOG_LVL_ERR, "SIGHUP: %s; still serving the old "
		    "configuration", why.data ? why.data : "out of memory");
	buf_free(&why);
	if (r != 0) {
		settings_free(&next);
		return -1;
	}
	restart_settings(&next);
	adopt(&next);
	log_style(conf.log_format, conf.log_client, conf.verbose);
	return 0;
}
