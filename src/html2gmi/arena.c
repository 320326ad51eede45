/*
 * arena.c: gumbo's memory, taken from a few large blocks and given back
 * all at once.  gumbo makes several small allocations per token and
 * frees most of them again; through malloc that was a tenth of the time
 * of a conversion, and gumbo_destroy_output's walk of the tree more.
 * Here an allocation is a pointer bump and a free does nothing: the
 * whole tree goes with arena_free.  What frees would have saved is
 * bounded: gumbo's buffers double, so the abandoned copies of one weigh
 * less than the last.
 *
 * Under AddressSanitizer each allocation is its own malloc, freed when
 * gumbo frees it, so that html2gmi's reads of gumbo's tree stay checked
 * for overruns and use after free.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "html2gmi.h"

#define ARENA_FIRST	(256 * 1024)		/* bytes of the first block */
#define ARENA_BIGGEST	(16 * 1024 * 1024)	/* blocks stop doubling here */
#define ARENA_ALIGN	_Alignof(max_align_t)

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_EACH	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_EACH	1
#endif
#endif

struct arena_piece {
	struct arena_piece	*prev, *next;
	max_align_t		 data[];
};

struct arena_block {
	struct arena_block	*prev;
	size_t			 cap;		/* bytes after the header */
	size_t			 used;
	max_align_t		 data[];
};

void
arena_init(struct arena *a)
{
	a->top = NULL;
	a->next = ARENA_FIRST;
	a->pieces = NULL;
}

void
arena_free(struct arena *a)
{
	struct arena_block *b, *prev;
	struct arena_piece *p, *next;

	for (b = a->top; b != NULL; b = prev) {
		prev = b->prev;
		free(b);
	}
	for (p = a->pieces; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	arena_init(a);
}

static void *
arena_alloc(void *arg, size_t n)
{
	struct arena		*a = arg;
	struct arena_block	*b = a->top;
	size_t			 cap;
	void			*p;

	if (n > SIZE_MAX - ARENA_ALIGN - sizeof(*b))
		goto oom;
#ifdef ARENA_EACH
	{
		struct arena_piece *piece;

		if ((piece = malloc(sizeof(*piece) + n)) == NULL)
			goto oom;
		piece->prev = NULL;
		piece->next = a->pieces;
		if (a->pieces != NULL)
			a->pieces->prev = piece;
		a->pieces = piece;
		return piece->data;
	}
#endif
	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (b == NULL || b->cap - b->used < n) {
		cap = a->next;
		if (cap < n)
			cap = n;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			goto oom;
		b->prev = a->top;
		b->cap = cap;
		b->used = 0;
		a->top = b;
		if (a->next < ARENA_BIGGEST)
			a->next *= 2;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	return p;
oom:
	/* gumbo does not check what its allocator returns. */
	fputs("html2gmi: out of memory\n", stderr);
	exit(1);
}

/* Given back with the arena (sanitized: now). */
static void
arena_forget(void *arg, void *p)
{
#ifdef ARENA_EACH
	struct arena		*a = arg;
	struct arena_piece	*piece;

	if (p == NULL)
		return;
	piece = (struct arena_piece *)((char *)p -
	    offsetof(struct arena_piece, data));
	if (piece->prev != NULL)
		piece->prev->next = piece->next;
	else
		a->pieces = piece->next;
	if (piece->next != NULL)
		piece->next->prev = piece->prev;
	free(piece);
#else
	(void)arg;
	(void)p;
#endif
}

/* Have gumbo take its memory from a. */
void
arena_gumbo(struct arena *a, GumboOptions *opt)
{
	opt->allocator = arena_alloc;
	opt->deallocator = arena_forget;
	opt->userdata = a;
}
