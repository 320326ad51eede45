/*
 * buf.c: the one growable byte buffer every module uses (a file read
 * whole into one included), and blobs, the bytes several holders share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lumbar.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->failed = false;
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* -1 when a write to b has failed (out of memory), else 0. */
int
buf_status(const struct buf *b)
{
	return b->failed ? -1 : 0;
}

/* Mark b failed: what was to go into it could not be made. */
void
buf_fail(struct buf *b)
{
	b->failed = true;
}

/* Make room for n more bytes plus the terminating NUL. */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, cap;
	char	*p;

	if (b->failed)
		return -1;
	if (n > SIZE_MAX - b->len - 1) {
		b->failed = true;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL) {
		b->failed = true;
		return -1;
	}
	b->data = p;
	b->data[b->len] = '\0';	/* a fresh buffer is a string too */
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Called for most bytes html2gmi writes: room is checked here, inline. */
int
buf_putc(struct buf *b, int c)
{
	if (b->failed || (b->cap - b->len < 2 && buf_reserve(b, 1) == -1))
		return -1;
	b->data[b->len++] = (char)c;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 ap2;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		b->failed = true;
	if (b->failed || buf_reserve(b, (size_t)n) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Read size bytes of fd into b (replacing what it held).  A file that
 * shrinks under us is an error, not a short page.
 */
int
buf_pread(struct buf *b, int fd, off_t size)
{
	ssize_t	 r;
	size_t	 got = 0;

	buf_reset(b);
	if (size < 0 || buf_reserve(b, (size_t)size) == -1)
		return -1;
	while (got < (size_t)size) {
		r = pread(fd, b->data + got, (size_t)size - got, (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	b->len = got;
	b->data[got] = '\0';
	return 0;
}

/*
 * Hand the bytes to the caller (always a valid string) and empty b; NULL
 * when b failed (it is emptied too).
 */
char *
buf_steal(struct buf *b)
{
	char *p;

	if (b->failed) {
		buf_free(b);
		return NULL;
	}
	if (b->data == NULL) {
		if (buf_reserve(b, 0) == -1)
			return NULL;
		b->data[0] = '\0';
	}
	p = b->data;
	buf_init(b);
	return p;
}

/*
 * A blob is bytes shared by whoever holds a reference: a cache slot and
 * every response sending them.  The last release frees them, so that no
 * holder is left sending freed memory when another replaces the slot.
 * Single-threaded (one worker, one loop): a plain counter is enough.
 */
struct blob *
blob_from(struct buf *b)
{
	struct blob *bl;

	if ((bl = malloc(sizeof(*bl))) == NULL)
		return NULL;
	bl->len = b->len;
	if ((bl->data = buf_steal(b)) == NULL) {
		free(bl);
		return NULL;
	}
	bl->refs = 1;
	return bl;
}

struct blob *
blob_ref(struct blob *bl)
{
	if (bl != NULL)
		bl->refs++;
	return bl;
}

void
blob_release(struct blob *bl)
{
	if (bl == NULL || --bl->refs > 0)
		return;
	free(bl->data);
	free(bl);
}
