/*
 * main.c: the life cycle of lumbar: hand the command line to settings.c
 * (--help and usage errors are answered here), open the capsule and
 * libmagic, bind the listeners, load (or create) certificates, then serve
 * until SIGTERM.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"
#include "tls.h"

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

/* The command line into conf (settings.c), or the help, the version or
 * a usage error and exit. */
static void
parse_options(int argc, char **argv)
{
	struct buf	 why;
	int		 r;

	buf_init(&why);
	r = settings_load(&conf, argc, argv, &why);
	switch (r) {
	case SETTINGS_HELP:
		usage(stdout);
		exit(0);
	case SETTINGS_VERSION:
		printf("lumbar %s\n", LUMBAR_VERSION);
		exit(0);
	case SETTINGS_USAGE:
		if (why.len > 0)
			fprintf(stderr, "lumbar: %s\n", why.data);
		usage(stderr);
		exit(2);
	case -1:
		fatal("%s", why.data ? why.data : "out of memory");
	}
	buf_free(&why);
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
	/* The secrets there are, before the capsules are indexed. */
	tls_note_keys();
	secrets_note();
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
	secrets_note();		/* the logs just made too: never served */
	lowered = limit_plan(limits, sizeof(limits));
	banner(limits, lowered);
	tls_check_expiry();
	r = workers_run(pw, settings_reload);
	tls_unload();
	hosts_close();
	capsule_close();
	log_msg(LOG_LVL_INFO, "stopped");
	settings_free(&conf);
	return r;
}
