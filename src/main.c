/*
 * main.c: options and the life cycle of lumbar: parse the command line,
 * open the capsule and libmagic, bind the listeners, load (or create)
 * certificates, then serve until SIGTERM.
 */
#include <arpa/inet.h>

#include <errno.h>
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

struct config conf = {
	.root = "capsule",
	.port = 1965,
	.gopher_port = 70,
	.gopher_menu_port = 0,
	.certdir = "certs",
	.lang = "en",
	.listing = true,
	.timeout = 10,
	.grace = 300,
	.wrap = WRAP_DEFAULT,
	.logtarget = "stderr",
	.verbose = LOG_LVL_INFO,
	.seccomp = true,
	.max_conns = -1,		/* from memory: limit_plan() */
	.max_per_client = 128,
	.rate = 50,
	.burst = 200,
};

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
	OPT_TLS_GROUPS,
	OPT_PUBLIC_PORT,
	OPT_PROXY_PROTOCOL,
	OPT_PROXY_FROM,
	OPT_GRACE,
	OPT_RATE,
	OPT_BURST,
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
	{ "user",		required_argument, NULL, 'u' },
	{ "allow-root",		no_argument,	   NULL, OPT_ALLOW_ROOT },
	{ "no-seccomp",		no_argument,	   NULL, OPT_NO_SECCOMP },
	{ "workers",		required_argument, NULL, 'j' },
	{ "max-conns",		required_argument, NULL, OPT_MAX_CONNS },
	{ "max-per-client",	required_argument, NULL, OPT_MAX_PER_CLIENT },
	{ "rate",		required_argument, NULL, OPT_RATE },
	{ "burst",		required_argument, NULL, OPT_BURST },
	{ "ticket-key",		required_argument, NULL, OPT_TICKET_KEY },
	{ "tls-groups",		required_argument, NULL, OPT_TLS_GROUPS },
	{ "public-port",	required_argument, NULL, OPT_PUBLIC_PORT },
	{ "proxy-protocol",	no_argument,	   NULL, OPT_PROXY_PROTOCOL },
	{ "proxy-from",		required_argument, NULL, OPT_PROXY_FROM },
	{ "check",		no_argument,	   NULL, 'n' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

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
"                          (default: the first --hostname)\n"
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
"      --ticket-key FILE   TLS session ticket key (80 random bytes), shared by\n"
"                          instances so that each resumes the others' sessions\n"
"      --tls-groups LIST   TLS key exchange groups, preferred first (default\n"
"                          " TLS_GROUPS_DEFAULT "; on OpenSSL 3.5,\n"
"                          X25519MLKEM768:X25519:P-256 adds post-quantum)\n"
"      --proxy-protocol    expect a PROXY header (v1 or v2) from --proxy-from\n"
"      --proxy-from ADDR   a load balancer's address trusted to send one;\n"
"                          repeatable\n"
"  -n, --check             check options, capsule and certificates, then exit\n"
"      --log TARGET        stderr (default), syslog, or a file to append to\n"
"  -v, --verbose           also log debugging detail\n"
"  -q, --quiet             log errors and warnings only, no requests\n"
"  -h, --help              this help\n"
"  -V, --version           the version\n");
}

static int
number(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		fatal("%s: \"%s\" is not a number from %ld to %ld", opt, s,
		    min, max);
	return (int)v;
}

static void
parse_options(int argc, char **argv)
{
	static char	hostbuf[HOSTNAMES_MAX][HOSTNAME_MAX + 1];
	static char	gopherbuf[HOSTNAME_MAX + 1];
	unsigned char	a6[16];
	int		ch;

	while ((ch = getopt_long(argc, argv, "r:H:l:p:g:c:L:t:w:u:j:nvqhV",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			conf.root = optarg;
			break;
		case 'H':
			if (conf.nhostnames == HOSTNAMES_MAX)
				fatal("--hostname: at most %d names",
				    HOSTNAMES_MAX);
			/* Kept as A-labels: SNI, DNS and certificates use them. */
			if (!url_valid_host(optarg) ||
			    url_host_ascii(optarg, hostbuf[conf.nhostnames],
			    sizeof(hostbuf[0])) == -1)
				fatal("--hostname: \"%s\" is not a host name "
				    "(a DNS name or IP address, without scheme "
				    "or port)", optarg);
			conf.hostnames[conf.nhostnames] =
			    hostbuf[conf.nhostnames];
			conf.nhostnames++;
			break;
		case 'l':
			if (conf.nlisten == LISTEN_MAX)
				fatal("--listen: at most %d addresses",
				    LISTEN_MAX);
			conf.listen[conf.nlisten++] = optarg;
			break;
		case 'p':
			conf.port = number("--port", optarg, 1, 65535);
			break;
		case 'g':
			conf.gopher_port = number("--gopher-port", optarg, 0,
			    65535);
			break;
		case OPT_GOPHER_HOST:
			if (!url_valid_host(optarg) || url_host_ascii(optarg,
			    gopherbuf, sizeof(gopherbuf)) == -1)
				fatal("--gopher-host: \"%s\" is not a host "
				    "name", optarg);
			conf.gopher_host = gopherbuf;
			break;
		case OPT_GOPHER_MENU_PORT:
			conf.gopher_menu_port = number("--gopher-menu-port",
			    optarg, 1, 65535);
			break;
		case 'c':
			conf.certdir = optarg;
			break;
		case 'L':
			if (strpbrk(optarg, " \t\r\n;") != NULL)
				fatal("--lang: \"%s\" is not a language tag",
				    optarg);
			conf.lang = optarg;
			break;
		case OPT_NO_LISTING:
			conf.listing = false;
			break;
		case 't':
			conf.timeout = number("--timeout", optarg, 1, 3600);
			break;
		case OPT_GRACE:
			conf.grace = number("--grace", optarg, 0, 86400);
			break;
		case 'w':
			conf.wrap = number("--wrap", optarg, 20, 1000);
			break;
		case OPT_LOG:
			conf.logtarget = optarg;
			break;
		case 'u':
			conf.user = optarg;
			break;
		case OPT_ALLOW_ROOT:
			conf.allow_root = true;
			break;
		case OPT_NO_SECCOMP:
			conf.seccomp = false;
			break;
		case 'j':
			conf.workers = number("--workers", optarg, 1, 256);
			break;
		case OPT_MAX_CONNS:
			conf.max_conns = number("--max-conns", optarg, 0,
			    1000000);
			break;
		case OPT_MAX_PER_CLIENT:
			conf.max_per_client = number("--max-per-client", optarg,
			    0, 1000000);
			break;
		case OPT_RATE:
			conf.rate = number("--rate", optarg, 0, 1000000);
			break;
		case OPT_BURST:
			conf.burst = number("--burst", optarg, 1, 1000000);
			break;
		case OPT_PUBLIC_PORT:
			conf.public_port = number("--public-port", optarg, 1,
			    65535);
			break;
		case OPT_TICKET_KEY:
			conf.ticket_key = optarg;
			break;
		case OPT_TLS_GROUPS:
			conf.tls_groups = optarg;
			break;
		case OPT_PROXY_PROTOCOL:
			conf.proxy_protocol = true;
			break;
		case OPT_PROXY_FROM:
			if (conf.nproxy_from == LISTEN_MAX)
				fatal("--proxy-from: at most %d addresses",
				    LISTEN_MAX);
			if (inet_pton(AF_INET, optarg, &a6) != 1 &&
			    inet_pton(AF_INET6, optarg, &a6) != 1)
				fatal("--proxy-from: not an IPv4 or IPv6 "
				    "address: %s", optarg);
			conf.proxy_from[conf.nproxy_from++] = optarg;
			break;
		case 'n':
			conf.check_only = true;
			break;
		case 'v':
			conf.verbose = LOG_LVL_DEBUG;
			break;
		case 'q':
			conf.verbose = LOG_LVL_WARN;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("lumbar %s\n", LUMBAR_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "lumbar: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (conf.nhostnames == 0)
		conf.hostnames[conf.nhostnames++] = "localhost";
	if (conf.gopher_host == NULL)
		conf.gopher_host = conf.hostnames[0];
	if (conf.gopher_menu_port == 0)
		conf.gopher_menu_port = conf.gopher_port;
	if (conf.public_port == 0)
		conf.public_port = conf.port;
	if (conf.gopher_port == conf.port)
		fatal("--gopher-port %d: that is also the Gemini port (--port)",
		    conf.port);
	if (conf.proxy_protocol && conf.nproxy_from == 0)
		fatal("--proxy-protocol: say which load balancer may send "
		    "PROXY headers with --proxy-from ADDR");
	if (conf.workers == 0) {
		/* The cores we may run on (taskset, CPUAffinity=, a cpuset),
		 * not all the machine's: two workers on one core cost more
		 * CPU per request than one. */
		cpu_set_t	 set;
		long		 n;

		n = sched_getaffinity(0, sizeof(set), &set) == 0 ?
		    CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
		conf.workers = n < 1 ? 1 : n > 64 ? 64 : (int)n;
	}
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
	char	 line[512];
	size_t	 i;

	log_msg(LOG_LVL_INFO, "serving %s on gemini://%s:%d/", conf.root,
	    conf.hostnames[0], conf.public_port);
	if (conf.gopher_port != 0)
		log_msg(LOG_LVL_INFO, "serving %s on gopher://%s:%d/",
		    conf.root, conf.gopher_host, conf.gopher_port);
	for (i = 0; i < conf.nhostnames; i++)
		if (tls_describe(i, line, sizeof(line)) == 0)
			log_msg(LOG_LVL_INFO, "%s", line);
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
	const char		*err;
	char			 limits[256];
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
	if (capsule_init(conf.root, &err) == -1)
		fatal("capsule %s: %s", conf.root, err);
	if (pw != NULL && (r = sandbox_user_reads(pw)) != 0)
		fatal("capsule %s: the user %s cannot read %s (workers would "
		    "answer 50); chmod a+rX it, or change --user", conf.root,
		    pw->pw_name, r == 1 ? "it" : "its index.gmi");
	if (conf.check_only)
		return check_all() == 0 ? 0 : 1;
	/* Before tls_init, which would make the keys where they lie. */
	secrets_check(fatal);
	/* Bind first: a port lumbar cannot have (in use, or under 1024 for
	 * an ordinary user) must not leave a new certificate behind. */
	server_listen();
	if (tls_init(&err) == -1)
		fatal("%s", err);
	/* Before the workers fork, so that they share one index. */
	if (search_build(&err) == -1)
		fatal("search index: %s", err);
	lowered = limit_plan(limits, sizeof(limits));
	banner(limits, lowered);
	tls_check_expiry();
	r = workers_run(pw);
	tls_unload();
	search_close();
	capsule_close();
	log_msg(LOG_LVL_INFO, "stopped");
	return r;
}
