/*
 * walk.c: every gemtext page of a capsule, read one after the other, for
 * the search index (search.c) and lumbar --check (check.c).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "capsule.h"

#define WALK_DEPTH_MAX	32			/* directories deep */

struct walk {
	const struct capsule *cap;
	capsule_walk_fn	 fn;
	void		*arg;
	size_t		 max;
	struct buf	 path;
	struct buf	 data;
};

static int	walk_dir(struct walk *, int);

/* One entry of the directory w->path, its name already appended. */
static int
walk_entry(struct walk *w, int dfd, const char *name, int depth)
{
	struct stat	 st;
	int		 fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		if (depth < WALK_DEPTH_MAX && buf_putc(&w->path, '/') == 0)
			r = walk_dir(w, depth + 1);
		return r;
	}
	/* A linked page is indexed under its own name only: what a link
	 * inside the capsule leads to is walked where it is. */
	if (!S_ISREG(st.st_mode) || !gemtext_name(name))
		return 0;
	if ((fd = capsule_open_beneath(w->cap, w->path.data, O_RDONLY)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !secrets_is(&st) &&
	    (size_t)st.st_size <= w->max &&
	    buf_pread(&w->data, fd, st.st_size) == 0)
		r = w->fn(w->arg, w->path.data, w->data.data, w->data.len);
	close(fd);
	return r;
}

/* Walk the directory w->path (ending in "/"); -1 when fn says stop. */
static int
walk_dir(struct walk *w, int depth)
{
	struct dirent	*de;
	DIR		*d;
	size_t		 base = w->path.len;
	int		 fd, r = 0;

	fd = capsule_open_beneath(w->cap, w->path.data, O_RDONLY | O_DIRECTORY);
	if (fd == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !path_segment_ok(de->d_name))
			continue;
		w->path.len = base;
		if (buf_puts(&w->path, de->d_name) == -1) {
			r = -1;
			break;
		}
		if (w->path.len <= GEMINI_URL_MAX)
			r = walk_entry(w, dirfd(d), de->d_name, depth);
	}
	w->path.len = base;
	w->path.data[base] = '\0';
	closedir(d);
	return r;
}

/*
 * Call fn(arg, path, data, size) for every gemtext file of the capsule a
 * request could reach (no dotfiles, nothing outside the root), read whole
 * when at most max bytes.  Symbolic links are not followed, neither to
 * directories nor to pages, so that no link can make the walk loop or
 * index a page twice: what a link leads to inside the capsule is walked
 * under its own name.  Unreadable entries, and names no request can
 * spell, are skipped; -1 only when fn or memory fails.
 */
int
capsule_walk(struct capsule *cap, capsule_walk_fn fn, void *arg, size_t max)
{
	struct walk	 w = { .cap = cap, .fn = fn, .arg = arg, .max = max };
	int		 r = -1;

	buf_init(&w.path);
	buf_init(&w.data);
	if (buf_putc(&w.path, '/') == 0)
		r = walk_dir(&w, 0);
	buf_free(&w.path);
	buf_free(&w.data);
	return r;
}
