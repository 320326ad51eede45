/*
 * main.c: options and the life cycle of lumbar: parse the command line,
 * open the capsule and libmagic, bind the listeners, load (or create)
 * certificates, then serve until SIGTERM.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"
#include "tls.h"

/* What a setting is when neither the command line nor the file names it. */
static const struct config defaults = {
	.root = "capsule",
	.port = 1965,
	.gopher_port = 70,
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

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lumbar [options]\n"
"Serve a gemtext capsule over Gemini (TLS) and Gopher.\n"
"\n"
"  -r, --root DIR          capsule directory to serve (default ./capsule)\n"
"  -H, --hostname NAME     host name served; repeat for more (default localhost)\n"
"  -l, --listen ADDR       IPv4 or IPv6 address to listen on; repeatable\n"
"                          (default: every address)\n"
"  -p, --port N            Gemini port (default 1965)\n"
"      --public-port N     Gemini port in the URLs clients use, when a port\n"
"                          forward or load balancer differs (default: --port)\n"
"  -g, --gopher-port N     Gopher port (default 70; 0 disables Gopher)\n"
"      --gopher-host NAME  host name written into Gopher menus\n"
"                          (default: the first --hostname); with host blocks\n"
"                          (lumbar.conf(5)), the host Gopher serves\n"
"      --gopher-menu-port N  port written into Gopher menus\n"
"                          (default: the Gopher port)\n"
"  -c, --certs DIR         certificates, made there on first start\n"
"                          (default ./certs)\n"
"  -L, --lang TAG          lang= of gemtext answers (default en; \"\" for none)\n"
"      --no-listing        answer 51 (Gopher: an error) for directories\n"
"                          without index.gmi\n"
"  -t, --timeout SEC       deadline to read a request and per write (default 10;\n"
"                          a TLS handshake gets at most 5)\n"
"      --grace SEC         on reload and stop, time given to answers being\n"
"                          sent before they are cut (default 300)\n"
"  -w, --wrap N            Gopher text width in columns (default 70)\n"
"  -u, --user USER         after binding, workers chroot into the capsule\n"
"                          and become USER (needed when started as root)\n"
"      --allow-root        keep serving as root without --user (not advised)\n"
"      --no-seccomp        no system call filter in the workers\n"
"  -j, --workers N         serving processes (default: one per core this\n"
"                          process may run on)\n"
"      --max-conns N       connections at once, all clients (default: what\n"
"                          half the memory holds, at most 10000; lowered to\n"
"                          what ulimit -n allows)\n"
"      --max-per-client N  connections at once from one address or IPv6 /64\n"
"                          (default 128); over a limit: Gemini 44, Gopher error\n"
"      --rate N            new connections a second from one address or /64\n"
"                          (default 50; 0: no limit); over it: 44 SECONDS\n"
"      --burst N           how many may come at once (default 200)\n"
"      --redirect 'FROM TO'  answer 31 TO for the path FROM (Gopher: a menu\n"
"                          to TO); a FROM ending in * is a prefix, and a TO\n"
"                          ending in * gets the rest of the path; repeatable\n"
"      --redirect-temporary 'FROM TO'  the same with 30\n"
"      --gone PATH         answer 52 (Gopher: an error) for PATH; repeatable\n"
"      --ticket-key FILE   TLS session ticket key (80 random bytes), shared by\n"
"                          instances so that each resumes the others' sessions\n"
"      --ticket-rotate SECS  a new ticket key every SECS (default 3600); the\n"
"                          previous one still decrypts\n"
"      --tls-groups LIST   TLS key exchange groups, preferred first (default\n"
"                          " TLS_GROUPS_DEFAULT "; on OpenSSL 3.5,\n"
"                          X25519MLKEM768:X25519:P-256 adds post-quantum)\n"
"      --proxy-protocol    expect a PROXY header (v1 or v2) from --proxy-from\n"
"      --proxy-from ADDR   a load balancer's address trusted to send one;\n"
"                          repeatable\n"
"  -f, --config FILE       read settings from FILE (lumbar.conf(5)); options\n"
"                          given here override it\n"
"  -n, --check             check options, configuration file, capsule and\n"
"                          certificates, then exit\n"
"      --log TARGET        stderr (default), syslog, or a file to append to\n"
"      --log-format F      request lines: lumbar (default), or Apache's\n"
"                          common or combined, which log analysers read\n"
"      --log-client C      client addresses in the log: full (default),\n"
"                          anonymized (IPv4 /24, IPv6 /48) or none\n"
"  -v, --verbose           also log debugging detail\n"
"  -q, --quiet             log errors and warnings only, no requests\n"
"  -h, --help              this help\n"
"  -V, --version           the version\n");
}

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

/* A copy of s that c owns (config_free frees it): what a setting keeps
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

static void
config_free(struct config *c)
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
	unsigned char	a6[16];
	bool		on = false;

	/* A flag's value, checked once for all of them. */
	if ((arg == NULL || strcmp(arg, "yes") == 0 || strcmp(arg, "no") ==
	    0) && flag(opt, arg, &on, why) == -1)
		return -1;
	switch (ch) {
	case 'r':
		c->root = arg;
		return 0;
	case 'H':
		if (c->nhostnames == HOSTNAMES_MAX) {
			buf_printf(why, "%s: at most %d names", opt,
			    HOSTNAMES_MAX);
			return -1;
		}
		if ((c->hostnames[c->nhostnames] = host_name(c, opt, arg, why)) ==
		    NULL)
			return -1;
		c->nhostnames++;
		return 0;
	case 'l':
		if (c->nlisten == LISTEN_MAX) {
			buf_printf(why, "%s: at most %d addresses", opt,
			    LISTEN_MAX);
			return -1;
		}
		c->listen[c->nlisten++] = arg;
		return 0;
	case 'p':
		return number(opt, arg, 1, 65535, &c->port, why);
	case 'g':
		return number(opt, arg, 0, 65535, &c->gopher_port, why);
	case OPT_GOPHER_HOST:
		return (c->gopher_host = host_name(c, opt, arg, why)) ? 0 : -1;
	case OPT_GOPHER_MENU_PORT:
		return number(opt, arg, 1, 65535, &c->gopher_menu_port, why);
	case 'c':
		c->certdir = arg;
		return 0;
	case 'L':
		if (lang_tag(opt, arg, why) == -1)
			return -1;
		c->lang = arg;
		return 0;
	case OPT_NO_LISTING:
		c->listing = !on;
		return 0;
	case OPT_LISTING:
		c->listing = on;
		return 0;
	case 't':
		return number(opt, arg, 1, 3600, &c->timeout, why);
	case OPT_GRACE:
		return number(opt, arg, 0, 86400, &c->grace, why);
	case 'w':
		return number(opt, arg, 20, 1000, &c->wrap, why);
	case OPT_LOG:
		c->logtarget = arg;
		return 0;
	case OPT_LOG_FORMAT:
		if ((c->log_format = log_format_named(arg)) == -1) {
			buf_printf(why, "%s: \"%s\": say lumbar, common or "
			    "combined", opt, arg);
			return -1;
		}
		return 0;
	case OPT_LOG_CLIENT:
		if ((c->log_client = log_client_named(arg)) == -1) {
			buf_printf(why, "%s: \"%s\": say full, anonymized or "
			    "none", opt, arg);
			return -1;
		}
		return 0;
	case 'u':
		c->user = arg;
		return 0;
	case OPT_ALLOW_ROOT:
		c->allow_root = on;
		return 0;
	case OPT_NO_SECCOMP:
		c->seccomp = !on;
		return 0;
	case 'j':
		return number(opt, arg, 1, 256, &c->workers, why);
	case OPT_MAX_CONNS:
		return number(opt, arg, 0, 1000000, &c->max_conns, why);
	case OPT_MAX_PER_CLIENT:
		return number(opt, arg, 0, 1000000, &c->max_per_client, why);
	case OPT_RATE:
		return number(opt, arg, 0, 1000000, &c->rate, why);
	case OPT_BURST:
		return number(opt, arg, 1, 1000000, &c->burst, why);
	case OPT_PUBLIC_PORT:
		return number(opt, arg, 1, 65535, &c->public_port, why);
	case OPT_TICKET_KEY:
		c->ticket_key = arg;
		return 0;
	case OPT_TLS_GROUPS:
		c->tls_groups = arg;
		return 0;
	case OPT_TICKET_ROTATE:
		return number(opt, arg, 1, 7 * 24 * 3600, &c->ticket_rotate,
		    why);
	case OPT_PROXY_PROTOCOL:
		c->proxy_protocol = on;
		return 0;
	case OPT_PROXY_FROM:
		if (c->nproxy_from == LISTEN_MAX) {
			buf_printf(why, "%s: at most %d addresses", opt,
			    LISTEN_MAX);
			return -1;
		}
		if (inet_pton(AF_INET, arg, &a6) != 1 &&
		    inet_pton(AF_INET6, arg, &a6) != 1) {
			buf_printf(why, "%s: not an IPv4 or IPv6 address: %s",
			    opt, arg);
			return -1;
		}
		c->proxy_from[c->nproxy_from++] = arg;
		return 0;
	case OPT_REDIRECT:
	case OPT_REDIRECT_TEMPORARY:
	case OPT_GONE:
		return add_redirect(&c->redirects, ch, opt, arg, why);
	case 'n':
		c->check_only = on;
		return 0;
	case 'v':
		c->verbose = on ? LOG_LVL_DEBUG : LOG_LVL_INFO;
		return 0;
	case 'q':
		c->verbose = on ? LOG_LVL_WARN : LOG_LVL_INFO;
		return 0;
	}
	buf_printf(why, "%s: not a setting", opt);
	return -1;
}

/* Options of the command line only: the file cannot name them. */
static bool
command_line_only(int ch)
{
	return ch == 'f' || ch == 'n' || ch == 'h' || ch == 'V';
}

static bool
adds_up(int ch)
{
	return ch == OPT_REDIRECT || ch == OPT_REDIRECT_TEMPORARY ||
	    ch == OPT_GONE;
}

/* Options that, given on the command line, replace the file's. */
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
	config_free(&scratch);
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
 * The command line, then the file it names (-f), into c.  Returns -1 with
 * the reason in why; usage errors, --help and --version exit.
 */
static int
load_config(struct config *c, int argc, char **argv, struct buf *why)
{
	bool		 given[OPT_LAST] = { false };
	struct file_ctx	 fc = { c, given, NULL };
	char		 opt[64];
	int		 ch, i;

	*c = defaults;
	optind = 0;	/* from the start, also when read again */
	while ((ch = getopt_long(argc, argv, "r:H:l:p:g:c:L:t:w:u:j:f:nvqhV",
	    longopts, &i)) != -1) {
		switch (ch) {
		case 'f':
			c->config_file = optarg;
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("lumbar %s\n", LUMBAR_VERSION);
			exit(0);
		case '?':
		case ':':
			usage(stderr);
			exit(2);
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
		fprintf(stderr, "lumbar: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (c->config_file != NULL && config_read(c->config_file, file_set,
	    &fc, why) == -1)
		return -1;
	return finish(c, why);
}

static void
parse_options(int argc, char **argv)
{
	struct buf why;

	buf_init(&why);
	if (load_config(&conf, argc, argv, &why) == -1)
		fatal("%s", why.data ? why.data : "out of memory");
	buf_free(&why);
}

static int	  saved_argc;
static char	**saved_argv;
static int	  asked_max_conns;	/* before limit_plan() settles it */

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

/*
 * SIGHUP: the command line and the file again, into the configuration
 * the next generation of workers forks with.  What needs the listeners,
 * the user, the certificates' names or the worker slots again is
 * reported and kept; a file with an error changes nothing.  conf takes
 * over every string read (a few bytes a reload): the settings it keeps
 * may point at older ones, and the new ones at these.
 */
static int
reread_config(void)
{
	static struct config	 next;
	struct buf		 why;
	size_t			 i;
	int			 r;

	if (conf.config_file == NULL)
		return 0;
	buf_init(&why);
	r = load_config(&next, saved_argc, saved_argv, &why);
	if (r == -1)
		log_msg(LOG_LVL_ERR, "SIGHUP: %s; still serving the old "
		    "configuration", why.data ? why.data : "out of memory");
	buf_free(&why);
	if (r == -1) {
		config_free(&next);
		return -1;
	}
	needs_restart(same_list(conf.listen, conf.nlisten, next.listen,
	    next.nlisten), "listen");
	needs_restart(conf.port == next.port, "port");
	needs_restart(conf.gopher_port == next.gopher_port, "gopher-port");
	needs_restart(same_str(conf.certdir, next.certdir), "certs");
	needs_restart(same_str(conf.user, next.user), "user");
	needs_restart(conf.allow_root == next.allow_root, "allow-root");
	needs_restart(conf.seccomp == next.seccomp, "no-seccomp");
	needs_restart(conf.workers == next.workers, "workers");
	needs_restart(same_str(conf.ticket_key, next.ticket_key),
	    "ticket-key");
	needs_restart(same_str(conf.tls_groups, next.tls_groups),
	    "tls-groups");
	needs_restart(conf.proxy_protocol == next.proxy_protocol &&
	    same_list(conf.proxy_from, conf.nproxy_from, next.proxy_from,
	    next.nproxy_from), "proxy-protocol or proxy-from");
	needs_restart(same_str(conf.logtarget, next.logtarget), "log");
	needs_restart(asked_max_conns == next.max_conns, "max-conns");
	/* What the next generation takes as it is.  The hosts, their roots
	 * and names too: workers.c opens them (hosts_open) and loads their
	 * certificates, a new name's made as on the first start. */
	conf.root = next.root;
	conf.lang = next.lang;
	conf.listing = next.listing;
	conf.timeout = next.timeout;
	conf.grace = next.grace;
	conf.wrap = next.wrap;
	conf.public_port = next.public_port;
	conf.gopher_host = next.gopher_host;
	conf.gopher_menu_port = next.gopher_menu_port;
	conf.max_per_client = next.max_per_client;
	conf.rate = next.rate;
	conf.burst = next.burst;
	conf.ticket_rotate = next.ticket_rotate;
	conf.log_format = next.log_format;
	conf.log_client = next.log_client;
	conf.verbose = next.verbose;
	redirect_free(&conf.redirects);
	conf.redirects = next.redirects;
	memset(&next.redirects, 0, sizeof(next.redirects));
	for (i = 0; i < conf.nhosts; i++)
		redirect_free(&conf.hosts[i].redirects);
	memcpy(conf.hosts, next.hosts, sizeof(conf.hosts));
	conf.nhosts = next.nhosts;
	conf.blocks = next.blocks;
	next.nhosts = 0;	/* their redirects are conf's now */
	memcpy(conf.hostnames, next.hostnames, sizeof(conf.hostnames));
	conf.nhostnames = next.nhostnames;
	/* The strings taken, and those kept, stay conf's. */
	while (next.strings != NULL) {
		struct config_str *k = next.strings;

		next.strings = k->next;
		k->next = conf.strings;
		conf.strings = k;
	}
	log_style(conf.log_format, conf.log_client, conf.verbose);
	return 0;
}

/*
 * The user workers become.  Root must name one (or say --allow-root):
 * a server that parses what strangers send should not run as root.
 */
static const struct passwd *
worker_user(void)
{
	static struct passwd	 pw;
	struct passwd		*p;

	if (conf.user == NULL) {
		if (geteuid() == 0 && !conf.allow_root)
			fatal("refusing to serve as root: give --user USER "
			    "(for example --user nobody), or --allow-root");
		return NULL;
	}
	if (geteuid() != 0)
		fatal("--user %s: only root can change user", conf.user);
	if ((p = getpwnam(conf.user)) == NULL)
		fatal("--user %s: no such user", conf.user);
	if (p->pw_uid == 0 && !conf.allow_root)
		fatal("--user %s: that is root; give an unprivileged user",
		    conf.user);
	/* Copied: getpwnam's storage is gone after chroot and reuse. */
	pw.pw_uid = p->pw_uid;
	pw.pw_gid = p->pw_gid;
	pw.pw_name = strdup(p->pw_name);
	return &pw;
}

/* What a newcomer needs to open the capsule, and to trust it (TOFU),
 * and the connection limit the resources allow. */
static void
banner(const char *limits, int lowered)
{
	const struct host	*h;
	char			 line[512];
	size_t			 i;

	hosts_note();
	for (i = 0; (h = host_at(i)) != NULL; i++)
		log_msg(LOG_LVL_INFO, "serving %s on gemini://%s:%d/", h->root,
		    h->names[0], conf.public_port);
	if (conf.gopher_port != 0)
		log_msg(LOG_LVL_INFO, "serving %s on gopher://%s:%d/",
		    host_gopher()->root, conf.gopher_host, conf.gopher_port);
	for (i = 0; i < conf.nhostnames; i++)
		if (tls_describe(i, line, sizeof(line)) == 0)
			log_msg(LOG_LVL_INFO, "%s", line);
	/* Each root is still reached only beneath its own descriptor. */
	if (hosts_count() > 1 && strcmp(hosts_jail(), "/") == 0)
		log_msg(LOG_LVL_WARN, "the hosts' roots share no directory but "
		    "/, so a worker's chroot hides nothing: put the capsules "
		    "under one directory (/srv/gemini/NAME)");
	log_msg(LOG_LVL_INFO, "open it with Lagrange, or: amfora gemini://%s:%d/",
	    conf.hostnames[0], conf.public_port);
	if (conf.gopher_port != 0)
		log_msg(LOG_LVL_INFO, "on Gopher: lynx gopher://%s:%d/",
		    conf.gopher_host, conf.gopher_port);
	log_msg(lowered ? LOG_LVL_WARN : LOG_LVL_INFO, "%s", limits);
}

int
main(int argc, char **argv)
{
	const struct passwd	*pw;
	const struct host	*h;
	const char		*err;
	char			 limits[256];
	size_t			 i;
	int			 r, lowered;

	/* An inherited "ignore SIGCHLD" would let the kernel reap the
	 * workers (and the --user check's child) before we can wait. */
	signal(SIGCHLD, SIG_DFL);
	parse_options(argc, argv);
	/* --check checks --user too, but not its absence (systemd's User=). */
	pw = conf.check_only && conf.user == NULL ? NULL : worker_user();
	if (log_init(conf.logtarget, conf.verbose) == -1)
		fatal("--log: cannot open %s: %s", conf.logtarget,
		    strerror(errno));
	log_style(conf.log_format, conf.log_client, conf.verbose);
	if (capsule_init(&err) == -1)
		fatal("libmagic: %s", err);
	/* Before the workers fork, so that they share the hosts' indexes. */
	if (hosts_open(&conf, !conf.check_only, &err) == -1)
		fatal("%s", err);
	for (i = 0; pw != NULL && (h = host_at(i)) != NULL; i++)
		if ((r = sandbox_user_reads(pw, h->root)) != 0)
			fatal("capsule %s: the user %s cannot read %s (workers "
			    "would answer 50); chmod a+rX it, or change --user",
			    h->root, pw->pw_name, r == 1 ? "it" :
			    "its index.gmi");
	if (conf.check_only && conf.config_file != NULL)
		fprintf(stderr, "lumbar: %s: no errors\n", conf.config_file);
	if (conf.check_only)
		return check_all() == 0 ? 0 : 1;
	/* Before tls_init, which would make the keys where they lie. */
	secrets_check(fatal);
	/* Bind first: a port lumbar cannot have (in use, or under 1024 for
	 * an ordinary user) must not leave a new certificate behind. */
	server_listen();
	if (tls_init(&err) == -1)
		fatal("%s", err);
	asked_max_conns = conf.max_conns;
	lowered = limit_plan(limits, sizeof(limits));
	banner(limits, lowered);
	tls_check_expiry();
	saved_argc = argc;
	saved_argv = argv;
	r = workers_run(pw, reread_config);
	tls_unload();
	hosts_close();
	capsule_close();
	log_msg(LOG_LVL_INFO, "stopped");
	config_free(&conf);
	return r;
}
