/*
 * log.c: the request log and diagnostics, to stderr, syslog or a file.
 * Everything a client sent is escaped, so that no request can forge a
 * log line or send control sequences to an operator's terminal.
 */
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

/* The oldest waiting line's deadline, for the event loop's timeout. */
int64_t
log_due(void)
{
	return pend_since + LOG_FLUSH_MS;
}

static void
emit(enum log_level lvl, const char *line, bool request)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static char	 ts[32];	/* the time, made once a second */
	static time_t	 ts_made = -1;
	struct tm	 tm;
	time_t		 now;
	size_t		 tslen, len, n;
	struct buf	 b;

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
	tslen = strlen(ts);
	len = strlen(line);
	n = tslen + 1 + len + 1;
	if (request && buffered && n <= sizeof(pend)) {
		if (npend + n > sizeof(pend))
			log_flush();
		if (npend == 0)
			pend_since = now_us() / 1000;
		memcpy(pend + npend, ts, tslen);
		pend[npend + tslen] = ' ';
		memcpy(pend + npend + tslen + 1, line, len);
		pend[npend + n - 1] = '\n';
		npend += n;
		return;
	}
	log_flush();		/* the lines keep their order */
	/* One write(2) a line: workers share the descriptor (O_APPEND). */
	buf_init(&b);
	if (buf_printf(&b, "%s %s\n", ts, line) == 0)
		(void)!write(log_fd(), b.data, b.len);
	buf_free(&b);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	struct buf	 b;
	va_list		 ap;

	buf_init(&b);
	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) == 0)
		emit(lvl, b.data, false);
	va_end(ap);
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
		emit(lvl, b.data, false);
	}
	va_end(ap);
	buf_free(&b);
	r->quiet = 0;
	r->next = ts.tv_sec + LOG_RATE_SECS;
}

void
fatal(const char *fmt, ...)
{
	struct buf	 b;
	va_list		 ap;

	log_flush();
	buf_init(&b);
	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) == 0) {
		if (use_syslog)
			syslog(LOG_ERR, "%s", b.data);
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

/* One line per request: protocol, client, request, status, bytes, time,
 * and why the answer was cut when it was not sent in full. */
void
log_request(const char *proto, const char *addr, const char *req,
    size_t reqlen, int status, size_t bytes, double ms, const char *cut)
{
	static struct buf b;	/* kept: no allocation per request */

	if (verbosity < LOG_LVL_INFO)
		return;
	buf_reset(&b);
	buf_printf(&b, "%s %s \"", proto, addr);
	log_escape(&b, req, reqlen);
	buf_printf(&b, "\" %d %zu %.1fms", status, bytes, ms);
	if (cut != NULL)
		buf_printf(&b, " cut (%s)", cut);
	if (b.data != NULL)
		emit(LOG_LVL_INFO, b.data, true);
	/* A rare long request does not keep its memory. */
	if (b.cap > 4096)
		buf_free(&b);
}
