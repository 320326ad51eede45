/* gemload: a bounded Gemini/Gopher load generator that checks every answer
 * and reports throughput, latency percentiles and TLS resumption.
 *
 * One epoll event loop per thread drives non-blocking connections, so the
 * client spends its CPU on TLS rather than on scheduling hundreds of
 * threads: on a 2-core machine the client shares the cores with the
 * server under test, and every microsecond it wastes is one the server
 * does not get. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Gemini caps a request at 1024 bytes of URL plus CRLF, and a response
 * header at 2 status digits, a space, 1024 bytes of meta and CRLF. */
#define REQ_MAX		1026
#define HDR_MAX		1029
#define HOST_MAX	256
#define MAX_CONNS	20000
#define MAX_THREADS	64
/* Bounds the latency array: -n beyond this is a typo, not a benchmark. */
#define MAX_REQUESTS	10000000L
#define READ_CHUNK	65536

enum state { S_IDLE, S_CONNECTING, S_HANDSHAKE, S_WRITING, S_READING,
	     S_HELD };

enum err { E_CONNECT, E_TLS, E_IO, E_TIMEOUT, E_HEADER, E_STATUS, E_SIZE,
	   E_COUNT };
static const char *const err_names[E_COUNT] = {
	"err_connect", "err_tls", "err_io", "err_timeout", "err_header",
	"err_status", "err_size",
};

struct opts {
	int gopher;
	int resume;
	long requests;
	int conns;
	int threads;
	double duration;	/* seconds; 0 means only -n bounds the run */
	double timeout;		/* per request, seconds */
	double hold;		/* --hold: seconds to keep idle connections */
	int allow_remote;
	int quiet;
	char status[3];		/* expected Gemini status, two digits */
	long long expect_size;	/* -1: learn it from the first answer */
	char host[HOST_MAX];	/* for SNI; empty for IP literals */
	char request[REQ_MAX + 2];
	size_t request_len;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char addr_text[INET6_ADDRSTRLEN + 8];
};

struct slot {
	enum state st;
	int fd;
	SSL *ssl;
	SSL_SESSION *sess;	/* freshest ticket, reused with -r */
	int offered;		/* this attempt offered a session */
	double t0;
	size_t sent;
	size_t hdr_len;
	int hdr_done;
	uint64_t body;
	char hdr[HDR_MAX + 1];
};

struct worker {
	pthread_t tid;
	int ep;
	int nslots;
	struct slot *slots;
	int active;
};

/* Shared between threads; everything a worker writes is atomic or its own. */
static struct opts O;
static SSL_CTX *ctx;
static atomic_long issued;
static atomic_long completed;
static atomic_long ok_count;
static atomic_long resumed_count;
static atomic_long offered_count;
static atomic_long unclean_count;
static atomic_long held_count;
static atomic_long dropped_count;
static atomic_long errors[E_COUNT];
static atomic_ullong learned_size = ULLONG_MAX;
static atomic_int release_hold;
static double *latencies;	/* ms, successful requests only */
static atomic_long nlat;
static double t_start, t_end_issue;
static double first_error_t = -1;
static char first_error[256];
static pthread_mutex_t first_error_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fputs(
"usage: gemload [options] URL\n"
"       gemload [options] HOST:PORT REQUEST\n"
"Send N requests over C concurrent connections, each a fresh connection,\n"
"check every answer, and report requests/s and latency.\n"
"\n"
"  URL is gemini://HOST[:PORT]/PATH or gopher://HOST[:PORT]/TYPE/SELECTOR;\n"
"  with HOST:PORT, REQUEST is the Gemini URL or the Gopher selector sent.\n"
"\n"
"  -g, --gopher          Gopher over plain TCP (default: Gemini over TLS)\n"
"  -r, --resume          reuse each connection slot's latest TLS session\n"
"  -n, --requests N      requests in all (default 1000)\n"
"  -c, --conns C         concurrent connections (default 16)\n"
"  -d, --duration S      stop starting requests after S seconds (default 60)\n"
"  -t, --threads T       event-loop threads (default: cores, at most C)\n"
"      --timeout S       per-request deadline (default 10)\n"
"  -s, --status NN       expected Gemini status (default 20)\n"
"      --expect-size B   expected body size (default: the first answer's)\n"
"      --hold S          open C idle connections (TLS handshake done, no\n"
"                        request), print held=N, keep them S seconds or\n"
"                        until SIGTERM/SIGINT, then close them\n"
"      --allow-remote    allow a target that is not a loopback address\n"
"  -q, --quiet           print only the key=value line\n"
"\n"
"Prints a human summary and one line of key=value pairs starting\n"
"\"gemload:\". Exit status 0: every answer right; 1: errors; 2: usage.\n",
	      f);
}

static void die_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "gemload: %s%s%s\n", msg, arg ? ": " : "",
		arg ? arg : "");
	exit(2);
}

static void note_error(enum err e, const char *what)
{
	atomic_fetch_add(&errors[e], 1);
	/* The first error explains the rest far more often than the last. */
	pthread_mutex_lock(&first_error_lock);
	if (first_error_t < 0) {
		first_error_t = now() - t_start;
		snprintf(first_error, sizeof first_error, "%s: %s",
			 err_names[e], what);
	}
	pthread_mutex_unlock(&first_error_lock);
}

static long parse_long(const char *s, long lo, long hi, const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die_usage("bad number for", name);
	return v;
}

static double parse_secs(const char *s, const char *name)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 86400)
		die_usage("bad seconds for", name);
	return v;
}

/* Splits "host[:port]" or "[v6]:port" in place into host and port. */
static void split_hostport(const char *in, size_t len, char *host,
			   size_t hostsz, long *port)
{
	const char *colon = NULL, *h = in, *hend;

	if (len && in[0] == '[') {
		const char *rb = memchr(in, ']', len);

		if (!rb)
			die_usage("bad IPv6 literal", in);
		h = in + 1;
		hend = rb;
		if (rb + 1 < in + len) {
			if (rb[1] != ':')
				die_usage("bad host:port", in);
			colon = rb + 1;
		}
	} else {
		colon = memrchr(in, ':', len);
		hend = colon ? colon : in + len;
	}
	if (hend == h || (size_t)(hend - h) >= hostsz)
		die_usage("bad host", in);
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	if (colon) {
		char num[8];
		size_t n = (size_t)(in + len - colon - 1);

		if (n == 0 || n >= sizeof num)
			die_usage("bad port", in);
		memcpy(num, colon + 1, n);
		num[n] = '\0';
		*port = parse_long(num, 1, 65535, "port");
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void set_request(const char *req)
{
	size_t n = strlen(req);

	/* Gemini's limit; Gopher selectors get the same generous bound. */
	if (n > REQ_MAX - 2)
		die_usage("request longer than 1024 bytes", NULL);
	memcpy(O.request, req, n);
	O.request[n] = '\r';
	O.request[n + 1] = '\n';
	O.request_len = n + 2;
}

/* The host part of a URL, for SNI and for where to connect. */
static void url_host(const char *url, char *host, size_t hostsz, long *port)
{
	const char *p = strstr(url, "://");
	size_t len;

	if (!p)
		die_usage("not a URL", url);
	p += 3;
	len = strcspn(p, "/?#");
	{
		const char *at = memchr(p, '@', len);

		if (at) {
			len -= (size_t)(at + 1 - p);
			p = at + 1;
		}
	}
	split_hostport(p, len, host, hostsz, port);
}

static void parse_target(const char *target, const char *request)
{
	char host[HOST_MAX];
	char req_host[HOST_MAX];
	long port = O.gopher ? 70 : 1965;

	if (strstr(target, "://")) {
		if (request)
			die_usage("a URL target takes no REQUEST", request);
		if (!strncmp(target, "gopher://", 9))
			O.gopher = 1;
		else if (strncmp(target, "gemini://", 9))
			die_usage("URL scheme must be gemini or gopher", target);
		port = O.gopher ? 70 : 1965;
		url_host(target, host, sizeof host, &port);
		if (O.gopher) {
			/* gopher://h/TSELECTOR: the type char is not sent;
			 * the selector is percent-decoded (RFC 4266). */
			const char *p = strstr(target, "://") + 3;
			char sel[REQ_MAX];
			size_t o = 0;

			p += strcspn(p, "/");
			if (*p == '/')
				p++;
			if (*p)
				p++;	/* the item type */
			for (; *p && *p != '#'; p++) {
				int c = (unsigned char)*p;

				if (c == '%' && hexval(p[1]) >= 0 &&
				    hexval(p[2]) >= 0) {
					c = hexval(p[1]) * 16 + hexval(p[2]);
					p += 2;
				}
				if (o + 1 >= sizeof sel)
					die_usage("selector too long", target);
				sel[o++] = (char)c;
			}
			sel[o] = '\0';
			set_request(sel);
		} else {
			set_request(target);
		}
		memcpy(req_host, host, sizeof req_host);
	} else {
		if (!request)
			die_usage("HOST:PORT needs a REQUEST", target);
		split_hostport(target, strlen(target), host, sizeof host, &port);
		set_request(request);
		req_host[0] = '\0';
		if (!O.gopher && strstr(request, "://")) {
			long ignored = 0;

			url_host(request, req_host, sizeof req_host, &ignored);
		}
	}

	/* SNI carries a name, never an address (RFC 6066). */
	{
		struct in6_addr a6;
		struct in_addr a4;

		if (req_host[0] && inet_pton(AF_INET, req_host, &a4) != 1 &&
		    inet_pton(AF_INET6, req_host, &a6) != 1)
			snprintf(O.host, sizeof O.host, "%s", req_host);
	}

	{
		struct addrinfo hints, *res, *ai;
		char portstr[8];
		int rc, chosen = 0;

		memset(&hints, 0, sizeof hints);
		hints.ai_socktype = SOCK_STREAM;
		snprintf(portstr, sizeof portstr, "%ld", port);
		rc = getaddrinfo(host, portstr, &hints, &res);
		if (rc)
			die_usage(gai_strerror(rc), host);
		/* Every address must be loopback before any packet is sent,
		 * so a name that also resolves elsewhere is refused whole. */
		for (ai = res; ai; ai = ai->ai_next) {
			int loop = 0;

			if (ai->ai_family == AF_INET) {
				const struct sockaddr_in *s4 =
					(const void *)ai->ai_addr;

				loop = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
			} else if (ai->ai_family == AF_INET6) {
				const struct sockaddr_in6 *s6 =
					(const void *)ai->ai_addr;
				const uint8_t *b = s6->sin6_addr.s6_addr;

				loop = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
				       (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
					b[12] == 127);
			}
			if (!loop && !O.allow_remote) {
				fprintf(stderr,
					"gemload: refusing non-loopback target "
					"%s (use --allow-remote)\n", host);
				freeaddrinfo(res);
				exit(2);
			}
		}
		/* Use the first address that accepts a connection, so that
		 * "localhost" works whichever of 127.0.0.1 and ::1 listens. */
		for (ai = res; ai && !chosen; ai = ai->ai_next) {
			int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
					0);

			if (fd < 0)
				continue;
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
				memcpy(&O.addr, ai->ai_addr, ai->ai_addrlen);
				O.addr_len = ai->ai_addrlen;
				chosen = 1;
			}
			close(fd);
		}
		if (!chosen) {
			fprintf(stderr, "gemload: cannot connect to %s port %ld:"
				" %s\n", host, port, strerror(errno));
			freeaddrinfo(res);
			exit(1);
		}
		freeaddrinfo(res);
	}
	{
		char a[INET6_ADDRSTRLEN];
		const void *src;
		int fam = O.addr.ss_family;

		src = fam == AF_INET
			? (const void *)&((struct sockaddr_in *)&O.addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)&O.addr)->sin6_addr;
		inet_ntop(fam, src, a, sizeof a);
		snprintf(O.addr_text, sizeof O.addr_text,
			 fam == AF_INET ? "%s:%ld" : "[%s]:%ld", a, port);
	}
}

static void parse_args(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL };
	int npos = 0;

	O.requests = 1000;
	O.conns = 16;
	O.duration = 60;
	O.timeout = 10;
	O.expect_size = -1;
	memcpy(O.status, "20", 3);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		/* Every option but the flags takes the next argument. */
#define NEXT() (i + 1 < argc ? argv[++i] : (die_usage("missing value for", a), ""))
		if (!strcmp(a, "-g") || !strcmp(a, "--gopher"))
			O.gopher = 1;
		else if (!strcmp(a, "-r") || !strcmp(a, "--resume"))
			O.resume = 1;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			O.quiet = 1;
		else if (!strcmp(a, "--allow-remote"))
			O.allow_remote = 1;
		else if (!strcmp(a, "-n") || !strcmp(a, "--requests"))
			O.requests = parse_long(NEXT(), 1, MAX_REQUESTS, a);
		else if (!strcmp(a, "-c") || !strcmp(a, "--conns"))
			O.conns = (int)parse_long(NEXT(), 1, MAX_CONNS, a);
		else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
			O.threads = (int)parse_long(NEXT(), 1, MAX_THREADS, a);
		else if (!strcmp(a, "-d") || !strcmp(a, "--duration"))
			O.duration = parse_secs(NEXT(), a);
		else if (!strcmp(a, "--timeout"))
			O.timeout = parse_secs(NEXT(), a);
		else if (!strcmp(a, "--hold"))
			O.hold = parse_secs(NEXT(), a);
		else if (!strcmp(a, "--expect-size"))
			O.expect_size = parse_long(NEXT(), 0, LONG_MAX, a);
		else if (!strcmp(a, "-s") || !strcmp(a, "--status")) {
			const char *s = NEXT();

			if (strlen(s) != 2 || s[0] < '1' || s[0] > '6' ||
			    s[1] < '0' || s[1] > '9')
				die_usage("status must be two digits 10-69", s);
			memcpy(O.status, s, 3);
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else if (a[0] == '-' && a[1]) {
			die_usage("unknown option", a);
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			die_usage("too many arguments", a);
		}
#undef NEXT
	}
	if (!npos) {
		usage(stderr);
		exit(2);
	}
	if (O.timeout <= 0)
		O.timeout = 10;
	parse_target(pos[0], pos[1]);
	if (O.gopher && O.hold > 0)
		die_usage("--hold measures TLS connections; not with -g", NULL);
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct slot *s = SSL_get_app_data(ssl);

	if (!s)
		return 0;
	/* TLS 1.3 servers send tickets after the handshake, often two; the
	 * latest replaces the older, as a browser's cache would. */
	if (s->sess)
		SSL_SESSION_free(s->sess);
	s->sess = sess;
	return 1;
}

static void init_tls(void)
{
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Gemini trusts on first use; a load test has nothing to pin. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (O.resume) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
					       SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
}

static void slot_close(struct worker *w, struct slot *s)
{
	if (s->ssl) {
		SSL_set_app_data(s->ssl, NULL);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		/* Closing removes it from epoll too. */
		close(s->fd);
		s->fd = -1;
	}
	if (s->st != S_IDLE)
		w->active--;
	s->st = S_IDLE;
}

static void fail(struct worker *w, struct slot *s, enum err e, const char *why)
{
	if (s->st == S_HELD) {
		atomic_fetch_sub(&held_count, 1);
		atomic_fetch_add(&dropped_count, 1);
	} else {
		note_error(e, why);
		atomic_fetch_add(&completed, 1);
	}
	slot_close(w, s);
}

static void tls_fail(struct worker *w, struct slot *s, const char *stage)
{
	char buf[200];
	unsigned long e = ERR_get_error();

	if (e) {
		char reason[160];

		ERR_error_string_n(e, reason, sizeof reason);
		snprintf(buf, sizeof buf, "%s: %s", stage, reason);
	} else {
		snprintf(buf, sizeof buf, "%s: %s", stage,
			 errno ? strerror(errno) : "connection closed");
	}
	ERR_clear_error();
	fail(w, s, s->st == S_HANDSHAKE ? E_TLS : E_IO, buf);
}

/* The whole answer is in: check it, record it, and free the slot. */
static void finish(struct worker *w, struct slot *s, int clean)
{
	double ms = (now() - s->t0) * 1e3;
	uint64_t size;

	if (O.gopher) {
		size = s->body;
		if (size == 0) {
			fail(w, s, E_HEADER, "empty answer");
			return;
		}
		if (s->hdr[0] == '3') {
			char why[120];

			snprintf(why, sizeof why, "type-3 error item: %.80s",
				 s->hdr);
			fail(w, s, E_STATUS, why);
			return;
		}
	} else {
		if (!s->hdr_done) {
			fail(w, s, E_HEADER, "no CRLF-terminated header");
			return;
		}
		if (s->hdr_len < 2 || s->hdr[0] != O.status[0] ||
		    s->hdr[1] != O.status[1] ||
		    (s->hdr_len > 2 && s->hdr[2] != ' ')) {
			char why[120];

			snprintf(why, sizeof why, "status line \"%.80s\"",
				 s->hdr);
			fail(w, s, E_STATUS, why);
			return;
		}
		size = s->body;
	}
	if (O.expect_size >= 0) {
		if (size != (uint64_t)O.expect_size) {
			char why[80];

			snprintf(why, sizeof why, "body %llu bytes, expected %lld",
				 (unsigned long long)size, O.expect_size);
			fail(w, s, E_SIZE, why);
			return;
		}
	} else {
		unsigned long long want = ULLONG_MAX;

		if (!atomic_compare_exchange_strong(&learned_size, &want, size) &&
		    want != size) {
			char why[80];

			snprintf(why, sizeof why, "body %llu bytes, first was %llu",
				 (unsigned long long)size, want);
			fail(w, s, E_SIZE, why);
			return;
		}
	}
	if (!clean)
		atomic_fetch_add(&unclean_count, 1);
	if (s->ssl) {
		if (SSL_session_reused(s->ssl))
			atomic_fetch_add(&resumed_count, 1);
		/* A session of a connection freed without shutdown is marked
		 * unresumable; the answer is complete, so the connection did
		 * end properly as far as resumption is concerned. */
		SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	}
	{
		long i = atomic_fetch_add(&nlat, 1);

		if (i < O.requests)
			latencies[i] = ms;
	}
	atomic_fetch_add(&ok_count, 1);
	atomic_fetch_add(&completed, 1);
	slot_close(w, s);
}

/* Counts the bytes of an answer, keeping only its first line. */
static void take(struct slot *s, const char *p, size_t n)
{
	if (O.gopher) {
		if (s->hdr_len < HDR_MAX) {
			size_t k = n < HDR_MAX - s->hdr_len ? n : HDR_MAX - s->hdr_len;

			memcpy(s->hdr + s->hdr_len, p, k);
			s->hdr_len += k;
			s->hdr[s->hdr_len] = '\0';
		}
		s->body += n;
		return;
	}
	while (n && !s->hdr_done) {
		if (s->hdr_len >= HDR_MAX + 1 - 1) {
			s->hdr_done = -1;	/* too long: reported in step */
			return;
		}
		s->hdr[s->hdr_len++] = *p;
		s->hdr[s->hdr_len] = '\0';
		p++;
		n--;
		if (s->hdr_len >= 2 && s->hdr[s->hdr_len - 2] == '\r' &&
		    s->hdr[s->hdr_len - 1] == '\n') {
			s->hdr_len -= 2;
			s->hdr[s->hdr_len] = '\0';
			s->hdr_done = 1;
		}
	}
	s->body += n;
}

/* Drives one connection as far as it goes without blocking. */
static void step(struct worker *w, struct slot *s, char *buf)
{
	for (;;) {
		switch (s->st) {
		case S_IDLE:
			return;
		case S_CONNECTING: {
			int err = 0;
			socklen_t len = sizeof err;

			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
			    err) {
				fail(w, s, E_CONNECT, strerror(err ? err : errno));
				return;
			}
			/* Still in progress: wait for the next event. */
			{
				struct sockaddr_storage peer;
				socklen_t pl = sizeof peer;

				if (getpeername(s->fd, (void *)&peer, &pl))
					return;
			}
			s->st = O.gopher ? S_WRITING : S_HANDSHAKE;
			break;
		}
		case S_HANDSHAKE: {
			int rc;

			ERR_clear_error();
			errno = 0;
			rc = SSL_connect(s->ssl);
			if (rc == 1) {
				if (O.hold > 0) {
					s->st = S_HELD;
					atomic_fetch_add(&held_count, 1);
					return;
				}
				s->st = S_WRITING;
				break;
			}
			switch (SSL_get_error(s->ssl, rc)) {
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE:
				return;
			default:
				tls_fail(w, s, "handshake");
				return;
			}
		}
		case S_WRITING: {
			const char *p = O.request + s->sent;
			size_t left = O.request_len - s->sent;

			if (s->ssl) {
				size_t wrote = 0;
				int rc;

				ERR_clear_error();
				errno = 0;
				rc = SSL_write_ex(s->ssl, p, left, &wrote);
				if (rc <= 0) {
					int e = SSL_get_error(s->ssl, rc);

					if (e == SSL_ERROR_WANT_READ ||
					    e == SSL_ERROR_WANT_WRITE)
						return;
					tls_fail(w, s, "write");
					return;
				}
				s->sent += wrote;
			} else {
				ssize_t k = send(s->fd, p, left, MSG_NOSIGNAL);

				if (k < 0) {
					if (errno == EAGAIN || errno == EINTR)
						return;
					fail(w, s, E_IO, strerror(errno));
					return;
				}
				s->sent += (size_t)k;
			}
			if (s->sent == O.request_len)
				s->st = S_READING;
			break;
		}
		case S_READING:
			if (s->ssl) {
				size_t got = 0;
				int rc, e;

				ERR_clear_error();
				errno = 0;
				rc = SSL_read_ex(s->ssl, buf, READ_CHUNK, &got);
				if (rc > 0) {
					take(s, buf, got);
					if (s->hdr_done < 0) {
						fail(w, s, E_HEADER,
						     "header longer than 1029 bytes");
						return;
					}
					continue;
				}
				e = SSL_get_error(s->ssl, rc);
				if (e == SSL_ERROR_WANT_READ ||
				    e == SSL_ERROR_WANT_WRITE)
					return;
				if (e == SSL_ERROR_ZERO_RETURN) {
					finish(w, s, 1);
					return;
				}
				/* EOF without close_notify: the answer may be
				 * whole but the end is unauthenticated. */
				if ((e == SSL_ERROR_SYSCALL && !ERR_peek_error() &&
				     errno == 0)
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
				    || (e == SSL_ERROR_SSL &&
					ERR_GET_REASON(ERR_peek_error()) ==
					SSL_R_UNEXPECTED_EOF_WHILE_READING)
#endif
				    ) {
					ERR_clear_error();
					finish(w, s, 0);
					return;
				}
				tls_fail(w, s, "read");
				return;
			} else {
				ssize_t k = recv(s->fd, buf, READ_CHUNK, 0);

				if (k > 0) {
					take(s, buf, (size_t)k);
					continue;
				}
				if (k == 0) {
					finish(w, s, 1);
					return;
				}
				if (errno == EAGAIN || errno == EINTR)
					return;
				fail(w, s, E_IO, strerror(errno));
				return;
			}
		case S_HELD: {
			size_t got = 0;
			int rc, e;

			/* Session tickets arrive after the handshake; read
			 * them, and notice when the server gives up on us. */
			ERR_clear_error();
			rc = SSL_read_ex(s->ssl, buf, READ_CHUNK, &got);
			if (rc > 0)
				continue;
			e = SSL_get_error(s->ssl, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			ERR_clear_error();
			fail(w, s, E_IO, "held connection closed");
			return;
		}
		}
	}
}

/* Claims a request from the shared budget; 0 when the run is over. */
static int claim(double t)
{
	if (O.duration > 0 && t >= t_end_issue)
		return 0;
	return atomic_fetch_add(&issued, 1) < O.requests;
}

static void start(struct worker *w, struct slot *s)
{
	struct epoll_event ev;
	int one = 1;

	s->hdr[0] = '\0';
	s->hdr_len = 0;
	s->hdr_done = 0;
	s->body = 0;
	s->sent = 0;
	s->offered = 0;
	s->t0 = now();
	s->fd = socket(O.addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->st = S_CONNECTING;
	w->active++;
	if (s->fd < 0) {
		fail(w, s, E_CONNECT, strerror(errno));
		return;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!O.gopher) {
		s->ssl = SSL_new(ctx);
		if (!s->ssl || !SSL_set_fd(s->ssl, s->fd)) {
			fail(w, s, E_TLS, "SSL_new");
			return;
		}
		SSL_set_app_data(s->ssl, s);
		if (O.host[0])
			SSL_set_tlsext_host_name(s->ssl, O.host);
		if (O.resume && s->sess) {
			SSL_set_session(s->ssl, s->sess);
			s->offered = 1;
			atomic_fetch_add(&offered_count, 1);
		}
		SSL_set_connect_state(s->ssl);
	}
	if (connect(s->fd, (const void *)&O.addr, O.addr_len) &&
	    errno != EINPROGRESS) {
		fail(w, s, E_CONNECT, strerror(errno));
		return;
	}
	/* Added after connect(): an unconnected socket polls as hung up.
	 * Edge-triggered, so each connection costs one epoll_ctl; every
	 * state returns only after OpenSSL or the kernel said EAGAIN. */
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = s;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->fd, &ev))
		fail(w, s, E_IO, strerror(errno));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char *buf = malloc(READ_CHUNK);
	struct epoll_event evs[256];
	double last_scan = 0;
	int hold = O.hold > 0;

	if (!buf)
		return NULL;
	for (int i = 0; i < w->nslots; i++)
		if (hold || claim(now()))
			start(w, &w->slots[i]);
	while (w->active > 0 || (hold && !atomic_load(&release_hold))) {
		int n = epoll_wait(w->ep, evs, 256, 50);
		double t;

		if (hold && atomic_load(&release_hold))
			break;
		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;

			step(w, s, buf);
			if (!hold && s->st == S_IDLE && claim(now()))
				start(w, s);
		}
		t = now();
		if (t - last_scan < 0.1)
			continue;
		last_scan = t;
		/* Deadlines; in --hold only the handshake has one. */
		for (int i = 0; i < w->nslots; i++) {
			struct slot *s = &w->slots[i];

			if (s->st == S_HELD || (s->st != S_IDLE &&
			    t - s->t0 < O.timeout))
				continue;
			if (s->st != S_IDLE)
				fail(w, s, E_TIMEOUT, "no complete answer in time");
			/* Also refills a slot whose start failed at once. */
			if (!hold && claim(t))
				start(w, s);
		}
	}
	for (int i = 0; i < w->nslots; i++)
		if (w->slots[i].st != S_IDLE)
			slot_close(w, &w->slots[i]);
	free(buf);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, long n, double p)
{
	long i;

	if (n <= 0)
		return 0;
	/* Nearest rank: the smallest value with p% at or below it. */
	i = (long)(p / 100.0 * (double)n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Holding thousands of connections needs more descriptors than the
 * usual soft limit of 1024; take what the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void wait_hold(void)
{
	sigset_t set;
	struct timespec ts;
	long target = O.conns;

	/* Report once every connection is held or has failed. */
	while (atomic_load(&held_count) + atomic_load(&dropped_count) +
	       atomic_load(&completed) < target &&
	       now() - t_start < O.timeout + 5) {
		struct timespec nap = { 0, 10 * 1000 * 1000 };

		nanosleep(&nap, NULL);
	}
	printf("held=%ld failed=%ld\n", atomic_load(&held_count),
	       atomic_load(&completed));
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	ts.tv_sec = (time_t)O.hold;
	ts.tv_nsec = (long)((O.hold - (double)ts.tv_sec) * 1e9);
	sigtimedwait(&set, NULL, &ts);
	atomic_store(&release_hold, 1);
}

int main(int argc, char **argv)
{
	struct worker workers[MAX_THREADS];
	int nthreads;
	double elapsed, cpu0, cpu;
	long ok, nerr = 0;
	sigset_t set;

	parse_args(argc, argv);
	raise_nofile();
	init_tls();
	signal(SIGPIPE, SIG_IGN);
	/* Workers block SIGTERM/SIGINT so that --hold can wait for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (O.hold > 0)
		O.requests = O.conns;
	latencies = calloc((size_t)O.requests, sizeof *latencies);
	if (!latencies) {
		fputs("gemload: out of memory\n", stderr);
		return 1;
	}
	nthreads = O.threads;
	if (!nthreads) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		nthreads = cores > 0 ? (int)(cores < MAX_THREADS ? cores : MAX_THREADS) : 1;
	}
	if (nthreads > O.conns)
		nthreads = O.conns;
	if (nthreads > O.requests && O.hold <= 0)
		nthreads = (int)O.requests;

	cpu0 = cpu_seconds();
	t_start = now();
	t_end_issue = t_start + O.duration;
	for (int i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		/* Spread the connections evenly over the threads. */
		w->nslots = O.conns / nthreads + (i < O.conns % nthreads);
		w->slots = calloc((size_t)w->nslots, sizeof *w->slots);
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->active = 0;
		if (!w->slots || w->ep < 0) {
			fputs("gemload: cannot set up a worker\n", stderr);
			return 1;
		}
		for (int k = 0; k < w->nslots; k++)
			w->slots[k].fd = -1;
		if (pthread_create(&w->tid, NULL, worker_main, w)) {
			fputs("gemload: cannot start a thread\n", stderr);
			return 1;
		}
	}
	if (O.hold > 0)
		wait_hold();
	for (int i = 0; i < nthreads; i++) {
		pthread_join(workers[i].tid, NULL);
		for (int k = 0; k < workers[i].nslots; k++)
			if (workers[i].slots[k].sess)
				SSL_SESSION_free(workers[i].slots[k].sess);
		free(workers[i].slots);
		close(workers[i].ep);
	}
	elapsed = now() - t_start;
	cpu = cpu_seconds() - cpu0;

	for (int e = 0; e < E_COUNT; e++)
		nerr += atomic_load(&errors[e]);

	if (O.hold > 0) {
		long dropped = atomic_load(&dropped_count);

		if (!O.quiet)
			printf("held %ld idle TLS connections to %s; %ld dropped"
			       " by the server while held, %ld failed\n",
			       atomic_load(&held_count), O.addr_text, dropped,
			       nerr);
		printf("gemload: mode=hold target=%s conns=%d held=%ld "
		       "dropped=%ld errors=%ld", O.addr_text, O.conns,
		       atomic_load(&held_count), dropped, nerr);
		for (int e = 0; e < E_COUNT; e++)
			printf(" %s=%ld", err_names[e], atomic_load(&errors[e]));
		printf("\n");
		if (first_error[0])
			fprintf(stderr, "gemload: first error at %.3f s: %s\n",
				first_error_t, first_error);
		SSL_CTX_free(ctx);
		free(latencies);
		return nerr || dropped ? 1 : 0;
	}

	ok = atomic_load(&ok_count);
	if (ok > O.requests)
		ok = O.requests;
	qsort(latencies, (size_t)ok, sizeof *latencies, cmp_double);
	{
		double rps = elapsed > 0 ? (double)ok / elapsed : 0;
		double p50 = pct(latencies, ok, 50), p90 = pct(latencies, ok, 90);
		double p99 = pct(latencies, ok, 99);
		double mx = ok ? latencies[ok - 1] : 0;
		long done = ok + nerr;
		unsigned long long size = O.expect_size >= 0
			? (unsigned long long)O.expect_size
			: atomic_load(&learned_size);
		const char *mode = O.gopher ? "gopher" : "gemini";
		double cpu_us = done ? cpu * 1e6 / (double)done : 0;

		if (size == ULLONG_MAX)
			size = 0;
		if (!O.quiet) {
			printf("%s %s c=%d: %ld ok, %ld errors in %.2f s = %.1f "
			       "req/s; latency ms p50 %.2f p90 %.2f p99 %.2f max "
			       "%.2f; body %llu bytes",
			       mode, O.addr_text, O.conns, ok, nerr, elapsed,
			       rps, p50, p90, p99, mx, size);
			if (!O.gopher)
				printf("; resumed %ld of %ld offered%s",
				       atomic_load(&resumed_count),
				       atomic_load(&offered_count),
				       O.resume ? "" : " (no -r)");
			if (atomic_load(&unclean_count))
				printf("; %ld closed without close_notify",
				       atomic_load(&unclean_count));
			printf("; client CPU %.0f us/request\n", cpu_us);
		}
		printf("gemload: mode=%s target=%s conns=%d threads=%d "
		       "requests=%ld ok=%ld errors=%ld elapsed_s=%.3f rps=%.1f "
		       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
		       "size=%llu resume=%d resumed=%ld offered=%ld unclean=%ld "
		       "client_cpu_us=%.1f",
		       mode, O.addr_text, O.conns, nthreads, done, ok, nerr,
		       elapsed, rps, p50, p90, p99, mx, size, O.resume,
		       atomic_load(&resumed_count), atomic_load(&offered_count),
		       atomic_load(&unclean_count), cpu_us);
		for (int e = 0; e < E_COUNT; e++)
			printf(" %s=%ld", err_names[e], atomic_load(&errors[e]));
		printf("\n");
	}
	if (first_error[0])
		fprintf(stderr, "gemload: first error at %.3f s: %s\n",
			first_error_t, first_error);
	SSL_CTX_free(ctx);
	free(latencies);
	return nerr ? 1 : 0;
}
