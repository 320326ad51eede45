/*
 * log.c: the request log and diagnostics, to stderr, syslog or a file.
 * Everything a client sent is escaped, so that no request can forge a
 * log line or send control sequences to an operator's terminal.
 */
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lumbar.h"

static FILE	*logfp;
static bool	 use_syslog;
static int	 verbosity = LOG_LVL_INFO;
static int	 format = LOG_FMT_LUMBAR;
static int	 client = LOG_CLIENT_FULL;

static const char *const format_names[] = { "lumbar", "common", "combined" };
static const char *const client_names[] = { "full", "anonymized", "none" };

/* Monotonic microseconds: the same clock in every worker, which times
 * requests and the log's flushes (and limit.c's rates). */
int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* The log-format and log-client settings' values, or -1. */
int
log_format_named(const char *s)
{
	return name_index(format_names, 3, s);
}

int
log_client_named(const char *s)
{
	return name_index(client_names, 3, s);
}

/* How request lines look, how much of the client they keep, and how
 * much is logged: what a reload may change without reopening the log. */
void
log_style(int fmt, int cl, int verbose)
{
	format = fmt;
	client = cl;
	verbosity = verbose;
}

/*
 * A worker's request lines wait here and go out in one write(2): when the
 * next would not fit, when the oldest has waited LOG_FLUSH_MS, when the
 * worker is idle, before any other line, on a signal and at exit.  At most
 * PIPE_BUF bytes, so that a flush stays one atomic write even to a pipe
 * that every worker shares.  The cost: a worker that crashes loses up to
 * LOG_FLUSH_MS of request lines, and lines of different workers may reach
 * the log up to that much out of time order.
 */
#define LOG_FLUSH_MS	1000
static char	 pend[PIPE_BUF];
static size_t	 npend;
static int64_t	 pend_since;	/* ms: when the oldest waiting line came */
static bool	 buffered;

int
log_init(const char *target, int verbose)
{
	verbosity = verbose;
	if (target == NULL || strcmp(target, "stderr") == 0) {
		logfp = stderr;
		return 0;
	}
	if (strcmp(target, "syslog") == 0) {
		openlog("lumbar", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		use_syslog = true;
		return 0;
	}
	if ((logfp = fopen(target, "ae")) == NULL) {
		logfp = stderr;
		return -1;
	}
	return 0;
}

static int
log_fd(void)
{
	return fileno(logfp ? logfp : stderr);
}

/* Write the waiting request lines, if any. */
void
log_flush(void)
{
	if (npend > 0)
		(void)!write(log_fd(), pend, npend);
	npend = 0;
}

/* From now on request lines wait in the buffer (a worker; not syslog). */
void
log_buffer(void)
{
	static bool registered;

	if (use_syslog)
		return;
	if (!registered && atexit(log_flush) != 0)
		return;
	registered = buffered = true;
}

bool
log_pending(void)
{
	return npend > 0;
}

/* Called by the event loop: flush when idle or when the oldest is due. */
void
log_tick(int64_t now_ms, bool idle)
{
	if (npend > 0 && (idle || now_ms - pend_since >= LOG_FLUSH_MS))
		log_flush();
}

/*
 * One line out.  request: a request line, which may wait in a worker's
 * buffer (above); stamp: the time goes first (Apache's formats carry their
 * own).  A log in Apache's formats is read by analysers: only requests go
 * to its file, the rest to stderr (the journal), as Apache keeps an
 * error_log beside its access_log.
 */
static void
emit_raw(enum log_level lvl, const char *line, bool request, bool stamp)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static char	 ts[32];	/* the time, made once a second */
	static time_t	 ts_made = -1;
	struct tm	 tm;
	time_t		 now;
	size_t		 tslen, len, n;
	struct buf	 b;
	int		 fd;

	if ((int)lvl > verbosity)
		return;
	if (use_syslog) {
		syslog(prio[lvl], "%s", line);
		return;
	}
	if ((now = time(NULL)) != ts_made) {
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		ts_made = now;
	}
	tslen = stamp ? strlen(ts) + 1 : 0;	/* with its space */
	len = strlen(line);
	n = tslen + len + 1;
	if (request && buffered && n <= sizeof(pend)) {
		if (npend + n > sizeof(pend))
			log_flush();
		if (npend == 0)
			pend_since = now_us() / 1000;
		if (stamp) {
			memcpy(pend + npend, ts, tslen - 1);
			pend[npend + tslen - 1] = ' ';
		}
		memcpy(pend + npend + tslen, line, len);
		pend[npend + n - 1] = '\n';
		npend += n;
		return;
	}
	log_flush();		/* the lines keep their order */
	/* One write(2) a line: workers share the descriptor (O_APPEND). */
	fd = !request && format != LOG_FMT_LUMBAR ? STDERR_FILENO : log_fd();
	buf_init(&b);
	if ((stamp ? buf_printf(&b, "%s %s\n", ts, line) :
	    buf_printf(&b, "%s\n", line)) == 0)
		(void)!write(fd, b.data, b.len);
	buf_free(&b);
}

static void
emit(enum log_level lvl, const char *line)
{
	emit_raw(lvl, line, false, true);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	struct buf	 b;
	va_list		 ap;

	buf_init(&b);
	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) == 0)
		emit(lvl, b.data);
	va_end(ap);
	buf_free(&b);
}

/*
 * An answer lumbar cut itself (a file that shrank or could not be read,
 * out of memory): a warning, unless the request's own line says so
 * (lumbar's format, requests logged), so that with -q, and in Apache's
 * formats, which have no field for it, the cut is still told.
 */
void
log_cut(const char *addr, const char *req, size_t reqlen, const char *why)
{
	char		 who[INET6_ADDRSTRLEN + 8];
	struct buf	 b;

	if (format == LOG_FMT_LUMBAR && verbosity >= LOG_LVL_INFO)
		return;
	buf_init(&b);
	log_escape(&b, req, reqlen);
	log_msg(LOG_LVL_WARN, "%s: the answer to \"%s\" was cut: %s",
	    log_client_addr(addr, true, who, sizeof(who)),
	    b.data != NULL ? b.data : "", why);
	buf_free(&b);
}

/*
 * A warning that may repeat many times a second (out of descriptors):
 * one line per LOG_RATE_SECS, saying how many were left out since.
 */
void
log_rated(struct log_rate *r, enum log_level lvl, const char *fmt, ...)
{
	struct timespec	 ts;
	struct buf	 b;
	va_list		 ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (r->next != 0 && ts.tv_sec < r->next) {
		r->quiet++;
		return;
	}
	buf_init(&b);
	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) == 0) {
		if (r->quiet > 0)
			buf_printf(&b, " (and %lu more times since the last "
			    "such line)", r->quiet);
		emit(lvl, b.data);
	}
	va_end(ap);
	buf_free(&b);
	r->quiet = 0;
	r->next = ts.tv_sec + LOG_RATE_SECS;
}

/*
 * The error that stops this process: to stderr, where whoever started
 * lumbar reads it, and to the log as every other error, so that a
 * worker's reason to exit is where its "exited with 1" is.  An Apache
 * format's file holds only requests: its errors are on stderr already.
 */
void
fatal(const char *fmt, ...)
{
	struct buf	 b;
	va_list		 ap;

	log_flush();
	buf_init(&b);
	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) == 0) {
		if (use_syslog || (logfp != NULL && logfp != stderr &&
		    format == LOG_FMT_LUMBAR))
			emit(LOG_LVL_ERR, b.data);
		fprintf(stderr, "lumbar: %s\n", b.data);
	}
	va_end(ap);
	buf_free(&b);
	exit(1);
}

/* Append s, with control bytes, quotes, backslashes and bad UTF-8 as \xHH. */
void
log_escape(struct buf *b, const char *s, size_t n)
{
	uint32_t	 cp;
	int		 k;

	while (n > 0) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
			buf_printf(b, "\\x%02X", c);
			k = 1;
		} else if (c < 0x80) {
			buf_putc(b, c);
			k = 1;
		} else if ((k = utf8_decode(s, n, &cp)) == -1 ||
		    (cp >= 0x80 && cp < 0xA0)) {	/* C1 controls too */
			buf_printf(b, "\\x%02X", c);
			k = 1;
		} else
			buf_append(b, s, (size_t)k);
		s += k;
		n -= (size_t)k;
	}
}

/*
 * The client as log-client allows, from the "ADDR:PORT" or "[ADDR]:PORT"
 * the server holds: full, it is kept (with its port when port is set);
 * anonymized, an IPv4 address keeps its /24 and an IPv6 one its /48,
 * without the port; none keeps nothing ("-").  Into out, which it returns.
 */
const char *
log_client_addr(const char *addr, bool port, char *out, size_t n)
{
	unsigned char	 a[16];
	char		 host[INET6_ADDRSTRLEN];
	const char	*end;
	size_t		 k;
	int		 af;

	if (client == LOG_CLIENT_NONE) {
		snprintf(out, n, "-");
		return out;
	}
	/* The host part, without brackets and port. */
	if (addr[0] == '[' && (end = strchr(addr, ']')) != NULL) {
		k = (size_t)(end - addr - 1);
		addr++;
		af = AF_INET6;
	} else {
		end = strrchr(addr, ':');
		k = end ? (size_t)(end - addr) : strlen(addr);
		af = AF_INET;
	}
	if (client == LOG_CLIENT_FULL && port) {
		snprintf(out, n, "%s", af == AF_INET6 ? addr - 1 : addr);
		return out;
	}
	if (k >= sizeof(host)) {
		snprintf(out, n, "-");
		return out;
	}
	memcpy(host, addr, k);
	host[k] = '\0';
	if (client == LOG_CLIENT_ANONYMIZED) {
		if (inet_pton(af, host, a) != 1) {
			snprintf(out, n, "-");	/* "unknown": nothing to keep */
			return out;
		}
		if (af == AF_INET)
			a[3] = 0;
		else
			memset(a + 6, 0, 10);
		if (inet_ntop(af, a, host, sizeof(host)) == NULL) {
			snprintf(out, n, "-");
			return out;
		}
	}
	snprintf(out, n, "%s", host);
	return out;
}

/* A Gemini status as the HTTP status log analysers count by class. */
static int
http_status(int status)
{
	switch (status) {
	case 10: case 11: case 20:
		return 200;
	case 30:
		return 302;
	case 31:
		return 301;
	case 40: case 41:
		return 503;
	case 43:
		return 502;
	case 44:
		return 429;
	case 51:
		return 404;
	case 52:
		return 410;
	case 53:
		return 421;
	case 59:
		return 400;
	case 60:
		return 401;
	case 61: case 62:
		return 403;
	}
	return 500;
}

/*
 * The common and combined formats of Apache, which log analysers read:
 * HOST - - [TIME] "GET TARGET HTTP/1.0" STATUS BYTES, and for combined
 * "-" "-" (no referer, no user agent in Gemini or Gopher).  The method
 * and version are fixed because analysers (goaccess) drop a request line
 * without them; the target is the Gemini URL or the Gopher selector as
 * sent, escaped, spaces too, so that it stays one field.
 */
static void
request_apache(struct buf *b, const char *addr, const char *req,
    size_t reqlen, int status, size_t bytes)
{
	char		 host[INET6_ADDRSTRLEN + 8], ts[64];
	struct tm	 tm;
	time_t		 now = time(NULL);
	struct buf	 target;
	size_t		 i;

	log_client_addr(addr, false, host, sizeof(host));
	/* A host analysers accept: they refuse "-" as an address. */
	if (strcmp(host, "-") == 0)
		snprintf(host, sizeof(host), "0.0.0.0");
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%d/%b/%Y:%H:%M:%S +0000", &tm);
	buf_printf(b, "%s - - [%s] \"GET ", host, ts);
	buf_init(&target);
	log_escape(&target, req, reqlen);
	for (i = 0; i < target.len; i++)	/* "\x20", as log_escape writes */
		if (target.data[i] == ' ')
			buf_puts(b, "\\x20");
		else
			buf_putc(b, target.data[i]);
	if (target.len == 0)
		buf_putc(b, '-');
	buf_free(&target);
	buf_printf(b, " HTTP/1.0\" %d %zu", http_status(status), bytes);
	if (format == LOG_FMT_COMBINED)
		buf_puts(b, " \"-\" \"-\"");
}

/* One line per request: protocol, client, request, status, bytes, time,
 * and why the answer was cut when it was not sent in full (log-format
 * lumbar); or the Apache formats. */
/*
 * One request line into a host's own access log (fd): written at once, one
 * write(2) a line, so that workers sharing the descriptor (O_APPEND) never
 * interleave; the server's log keeps the errors.
 */
static void
emit_host(int fd, const char *line, bool stamp)
{
	struct buf	 b;
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		 ts[32];

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_init(&b);
	if ((stamp ? buf_printf(&b, "%s %s\n", ts, line) :
	    buf_printf(&b, "%s\n", line)) == 0)
		(void)!write(fd, b.data, b.len);
	buf_free(&b);
}

/* A request's line: to hostfd, its host's own log, unless that is -1. */
void
log_request(const char *proto, const char *addr, const char *req,
    size_t reqlen, int status, size_t bytes, double ms, const char *cut,
    int hostfd)
{
	static struct buf b;	/* kept: no allocation per request */
	char		 who[INET6_ADDRSTRLEN + 8];

	if (verbosity < LOG_LVL_INFO)
		return;
	buf_reset(&b);
	if (format != LOG_FMT_LUMBAR) {
		request_apache(&b, addr, req, reqlen, status, bytes);
		if (b.data != NULL && hostfd != -1)
			emit_host(hostfd, b.data, false);
		else if (b.data != NULL)
			emit_raw(LOG_LVL_INFO, b.data, true, false);
		goto out;
	}
	buf_printf(&b, "%s %s \"", proto, log_client_addr(addr, true, who,
	    sizeof(who)));
	log_escape(&b, req, reqlen);
	buf_printf(&b, "\" %d %zu %.1fms", status, bytes, ms);
	if (cut != NULL)
		buf_printf(&b, " cut (%s)", cut);
	if (b.data != NULL && hostfd != -1)
		emit_host(hostfd, b.data, true);
	else if (b.data != NULL)
		emit_raw(LOG_LVL_INFO, b.data, true, true);
out:
	/* A rare long request does not keep its memory. */
	if (b.cap > 4096)
		buf_free(&b);
}
