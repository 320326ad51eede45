/*
 * outdir.c: the capsule directory of site mode, replaced whole.  The new
 * capsule is built beside the old one, in PARENT/.NAME.html2gmi-new-XXXXXX,
 * and swapped in with one renameat2(RENAME_EXCHANGE) only when complete:
 * a crash, kill -9 or full disk leaves the old capsule as it was, and the
 * next run removes the half-built one.  The old tree is kept, as
 * PARENT/.NAME.html2gmi-old, until the next run: a server holding its
 * directory open (lumbar until SIGHUP) still serves whole pages from it.
 *
 * Files of the old capsule that html2gmi does not make (images, robots
 * files, anything not gemtext) are carried over by hard link; gemtext
 * files no page makes any more are left out, and said so, and so are the
 * images an earlier run copied that no page links to any more: each run
 * lists what it wrote in the capsule's MADE_LIST (a dotfile, which lumbar
 * never serves), so that an image of the site is told from one the
 * author put there by hand.  A file that
 * replaces an old one keeps its mode and owner; a read-only one, or one
 * whose owner cannot be kept, stops the run with the old capsule intact.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "html2gmi.h"

#define NEW_TAG		".html2gmi-new-"
#define OLD_TAG		".html2gmi-old"
#define CARRY_DEPTH	32		/* directories deep, as lumbar walks */
#define MADE_LIST	".html2gmi-made"	/* the files a run wrote */

static int
say(const char *path, const char *what)
{
	fprintf(stderr, "html2gmi: %s: %s\n", path, what);
	return -1;
}

static int
say_errno(const char *path, const char *what)
{
	fprintf(stderr, "html2gmi: %s: %s: %s\n", path, what, strerror(errno));
	return -1;
}

/* Create dir and its parents; mode from the umask. */
static int
mkdirs(const char *dir)
{
	struct stat	 st;
	char		*p, *s;
	int	 r = 0;

	if ((s = strdup(dir)) == NULL)
		return -1;
	for (p = s + 1; r == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(s, 0777) == -1 && (errno != EEXIST ||
		    stat(s, &st) == -1 || !S_ISDIR(st.st_mode))) {
			if (errno == EEXIST)
				errno = ENOTDIR;
			r = -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(s);
	return r;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == -1 &&
	    errno != ENOENT ? -1 : 0;
}

/* rm -r path, not following symlinks. */
static int
rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove what an earlier run left beside OUT: builds, and the old tree. */
static int
remove_leftovers(struct outdir *o)
{
	struct buf	 pfx, p;
	DIR		*d;
	struct dirent	*e;
	int		 r = 0;

	buf_init(&pfx);
	buf_init(&p);
	if (buf_printf(&pfx, ".%s" NEW_TAG, o->name) == -1 ||
	    (d = opendir(o->parent)) == NULL) {
		buf_free(&pfx);
		return say_errno(o->parent, "cannot read");
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, pfx.data, pfx.len) != 0)
			continue;
		buf_reset(&p);
		if (buf_printf(&p, "%s/%s", o->parent, e->d_name) == -1 ||
		    rm_tree(p.data) == -1)
			r = say_errno(p.data ? p.data : o->parent,
			    "cannot remove an earlier, unfinished build");
	}
	closedir(d);
	if (r == 0 && rm_tree(o->old) == -1)
		r = say_errno(o->old, "cannot remove the capsule before last");
	buf_free(&pfx);
	buf_free(&p);
	return r;
}

/*
 * What the file at OUT/rel had, given to the new one (fd): its mode and
 * owner.  Returns 0, or -1 after saying why the old one cannot be
 * replaced (read-only when made is set, or an owner we cannot give).
 */
static int
keep_attrs(const struct outdir *o, int fd, const char *rel, bool made)
{
	struct stat	 old, now;
	struct buf	 p;
	int		 r = -1;

	buf_init(&p);
	if (buf_printf(&p, "%s/%s", o->out, rel) == -1)
		return say(o->out, "out of memory");
	if (lstat(p.data, &old) == -1) {
		r = errno == ENOENT || errno == ENOTDIR ? 0 :
		    say_errno(p.data, "cannot read");
		goto out;
	}
	if (!S_ISREG(old.st_mode) && !S_ISDIR(old.st_mode)) {
		r = 0;		/* a symlink or special file: nothing to keep */
		goto out;
	}
	if (fstat(fd, &now) == -1) {
		say_errno(p.data, "cannot read the new copy");
		goto out;
	}
	if ((now.st_mode & S_IFMT) != (old.st_mode & S_IFMT)) {
		r = 0;		/* a file where a directory goes: carry() says */
		goto out;
	}
	if (made && !(old.st_mode & S_IWUSR)) {
		fprintf(stderr, "html2gmi: %s: read-only, so not replaced; "
		    "%s is left as it was (chmod u+w to let html2gmi rewrite "
		    "it)\n", p.data, o->out);
		goto out;
	}
	if ((now.st_uid != old.st_uid || now.st_gid != old.st_gid) &&
	    fchown(fd, old.st_uid, old.st_gid) == -1) {
		fprintf(stderr, "html2gmi: %s: owned by uid %u gid %u, which "
		    "html2gmi cannot give its new version; %s is left as it "
		    "was (run html2gmi as that user, or as root)\n", p.data,
		    (unsigned)old.st_uid, (unsigned)old.st_gid, o->out);
		goto out;
	}
	if (fchmod(fd, old.st_mode & 07777) == -1) {
		say_errno(p.data, "cannot keep the mode");
		goto out;
	}
	r = 0;
out:
	buf_free(&p);
	return r;
}

/* Create the build's directories down to rel's, like those they replace. */
static int
make_dirs(const struct outdir *o, const char *rel)
{
	struct buf	 p;
	const char	*s;
	int		 fd, r = 0;

	buf_init(&p);
	for (s = strchr(rel, '/'); r == 0 && s != NULL; s = strchr(s + 1, '/')) {
		buf_reset(&p);
		if (buf_printf(&p, "%s/%.*s", o->build, (int)(s - rel), rel) ==
		    -1)
			r = say(o->out, "out of memory");
		else if (mkdir(p.data, 0777) == -1) {
			if (errno != EEXIST)
				r = say_errno(p.data, "cannot create directory");
		} else if ((fd = open(p.data, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			r = say_errno(p.data, "cannot open");
		else {
			buf_reset(&p);
			r = buf_printf(&p, "%.*s", (int)(s - rel), rel) == -1 ?
			    say(o->out, "out of memory") :
			    keep_attrs(o, fd, p.data, true);
			close(fd);
		}
	}
	buf_free(&p);
	return r;
}

static int
write_fd(int fd, const char *data, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, data, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int
outdir_write(struct outdir *o, const char *rel, const struct buf *data)
{
	struct buf	 p;
	int		 fd, r = -1;

	if (make_dirs(o, rel) == -1)
		return -1;
	buf_init(&p);
	if (buf_printf(&p, "%s/%s", o->build, rel) == -1)
		return say(o->out, "out of memory");
	if ((fd = open(p.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0666)) == -1) {
		say_errno(p.data, "cannot create");
		goto out;
	}
	if (write_fd(fd, data->data, data->len) == -1) {
		fprintf(stderr, "html2gmi: %s/%s: cannot write: %s; %s is left "
		    "as it was\n", o->out, rel, strerror(errno), o->out);
		close(fd);
		goto out;
	}
	if (keep_attrs(o, fd, rel, true) == -1) {
		close(fd);
		goto out;
	}
	if (close(fd) == -1) {
		say_errno(p.data, "cannot write");
		goto out;
	}
	if (buf_printf(&o->made, "%s\n", rel) == -1) {
		say(o->out, "out of memory");
		goto out;
	}
	r = 0;
out:
	buf_free(&p);
	return r;
}

/*
 * Is name (in the capsule's top directory when top) one html2gmi makes?
 * Gemtext and the feed are; so are the temporary files of versions that
 * wrote in place (".NAME.XXXXXX"), stray ones of which are not kept.
 */
static bool
is_ours(const char *name, bool top)
{
	const char	*dot = strrchr(name, '.');
	size_t		 n = strlen(name);

	if (name[0] == '.' && n > 8 && name[n - 7] == '.') {
		n -= 7;
		return (n > 5 && strncasecmp(name + n - 4, ".gmi", 4) == 0) ||
		    (n == 9 && strncmp(name + 1, "atom.xml", 8) == 0);
	}
	return (top && strcmp(name, "atom.xml") == 0) || (dot != NULL &&
	    (strcasecmp(dot, ".gmi") == 0 || strcasecmp(dot, ".gemini") == 0));
}

/* Copy a file the build cannot hard-link (another owner's, say). */
static int
copy_file(const struct outdir *o, const char *from, const char *to,
    const char *rel)
{
	char	 chunk[65536];
	ssize_t	 n;
	int	 in, out, r = -1;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) == -1)
		return say_errno(from, "cannot read");
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		close(in);
		return say_errno(to, "cannot create");
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0 || (n == -1 &&
	    errno == EINTR))
		if (n > 0 && write_fd(out, chunk, (size_t)n) == -1)
			break;
	if (n != 0)
		fprintf(stderr, "html2gmi: %s: cannot copy: %s; %s is left as "
		    "it was\n", from, strerror(errno), o->out);
	else if (keep_attrs(o, out, rel, false) == 0)
		r = 0;
	close(in);
	if (close(out) == -1 && r == 0)
		r = say_errno(to, "cannot write");
	return r;
}

/* Did the last run write rel (a line of its MADE_LIST)? */
static bool
made_before(const struct outdir *o, const char *rel)
{
	const char	*p = o->oldmade.data, *end = p + o->oldmade.len, *nl;
	size_t		 n = strlen(rel);

	for (; p != NULL && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) == n && memcmp(p, rel, n) == 0)
			return true;
	}
	return false;
}

static int carry_dir(const struct outdir *, const char *, int);

/*
 * The old capsule's directory rel (from) in the build (to, there already
 * when have, as now says): made if need be, then its entries carried.
 */
static int
carry_subdir(const struct outdir *o, const char *rel, const char *from,
    const char *to, const struct stat *now, bool have, int depth)
{
	int fd, r;

	if (have && !S_ISDIR(now->st_mode)) {
		fprintf(stderr, "html2gmi: %s: a directory where html2gmi "
		    "writes a file; %s is left as it was (move it)\n", from,
		    o->out);
		return -1;
	}
	if (!have) {
		if (mkdir(to, 0700) == -1 || (fd = open(to, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) == -1)
			return say_errno(to, "cannot create directory");
		r = keep_attrs(o, fd, rel, false);
		close(fd);
		if (r == -1)
			return -1;
	}
	return depth < CARRY_DEPTH ? carry_dir(o, rel, depth + 1) : 0;
}

/* A file or symbolic link of the old capsule (from) into the build (to). */
static int
carry_file(const struct outdir *o, const char *rel, const char *from,
    const char *to, const struct stat *old)
{
	char	target[PATH_MAX];
	ssize_t	n;

	if (S_ISLNK(old->st_mode)) {
		if ((n = readlink(from, target, sizeof(target) - 1)) == -1 ||
		    (target[n] = '\0', symlink(target, to) == -1))
			return say_errno(from, "cannot carry the symlink over");
	} else if (!S_ISREG(old->st_mode))
		fprintf(stderr, "html2gmi: %s: not a file or directory; left "
		    "out\n", from);
	else if (link(from, to) == -1 && copy_file(o, from, to, rel) == -1)
		return -1;
	return 0;
}

/* Carry the entry rel of the old capsule into the build, if not ours. */
static int
carry(const struct outdir *o, const char *rel, const char *name, int depth)
{
	struct stat	 old, now;
	struct buf	 from, to;
	int		 r = -1;
	bool		 have;

	buf_init(&from);
	buf_init(&to);
	if (buf_printf(&from, "%s/%s", o->out, rel) == -1 ||
	    buf_printf(&to, "%s/%s", o->build, rel) == -1) {
		r = say(o->out, "out of memory");
		goto out;
	}
	if (lstat(from.data, &old) == -1) {
		r = errno == ENOENT ? 0 : say_errno(from.data, "cannot read");
		goto out;
	}
	have = lstat(to.data, &now) == 0;
	if (S_ISDIR(old.st_mode))
		r = carry_subdir(o, rel, from.data, to.data, &now, have, depth);
	else if (have) {
		if (S_ISDIR(now.st_mode) && !is_ours(name, depth == 0))
			fprintf(stderr, "html2gmi: %s: in the way of the "
			    "directory html2gmi makes there; %s is left as it "
			    "was (move it)\n", from.data, o->out);
		else
			r = 0;		/* made again: the new one stands */
	} else if (is_ours(name, depth == 0)) {
		if (name[0] != '.')
			fprintf(stderr, "html2gmi: %s: no page of the site makes "
			    "it any more; left out\n", from.data);
		r = 0;
	} else if (made_before(o, rel)) {
		fprintf(stderr, "html2gmi: %s: copied from the site by an "
		    "earlier run, and no page links to it any more; left out\n",
		    from.data);
		r = 0;
	} else
		r = carry_file(o, rel, from.data, to.data, &old);
out:
	buf_free(&from);
	buf_free(&to);
	return r;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
carry_dir(const struct outdir *o, const char *rel, int depth)
{
	struct buf	  p;
	DIR		 *d;
	struct dirent	 *e;
	char		**v = NULL, **nv;
	size_t		  n = 0, cap = 0, i;
	int		  r = 0;

	buf_init(&p);
	if (buf_printf(&p, "%s%s%s", o->out, *rel ? "/" : "", rel) == -1)
		return say(o->out, "out of memory");
	if ((d = opendir(p.data)) == NULL) {
		buf_free(&p);
		return say_errno(p.data, "cannot read");
	}
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = say(p.data, "out of memory");
				break;
			}
			v = nv;
		}
		if ((v[n] = strdup(e->d_name)) == NULL)
			r = say(p.data, "out of memory");
		else
			n++;
	}
	closedir(d);
	if (r == 0)
		qsort(v, n, sizeof(*v), cmp_name);	/* messages in order */
	for (i = 0; r == 0 && i < n; i++) {
		buf_reset(&p);
		r = buf_printf(&p, "%s%s%s", rel, *rel ? "/" : "", v[i]) == -1 ?
		    say(o->out, "out of memory") : carry(o, p.data, v[i], depth);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	buf_free(&p);
	return r;
}

/*
 * The last run's MADE_LIST, if any: without one (a capsule written by
 * hand, or by a version that kept no list) every file not gemtext is
 * the author's.  A list that does not read stops the run: carrying an
 * image over, or leaving it out, on a guess is worse.
 */
static int
read_made_list(struct outdir *o)
{
	struct buf	 path, why;
	int		 r;

	buf_init(&path);
	buf_init(&why);
	if (buf_printf(&path, "%s/" MADE_LIST, o->out) == -1)
		r = say(o->out, "out of memory");
	else if (faccessat(AT_FDCWD, path.data, F_OK, AT_SYMLINK_NOFOLLOW) ==
	    -1 && errno == ENOENT)
		r = 0;
	else if ((r = h2g_read_file(path.data, &o->oldmade, H2G_FILE_MAX,
	    &why)) == -2)
		r = say(path.data, "too large to be html2gmi's list");
	else if (r < 0)
		say(path.data, why.data);
	buf_free(&path);
	buf_free(&why);
	return r < 0 ? -1 : 0;
}

/*
 * The capsule's names: out itself (what a symbolic link there names),
 * its parent directory and its name there, and where the replaced one
 * will be kept.  -1 when out cannot be replaced so, said on stderr.
 */
static int
outdir_names(struct outdir *o, const char *out)
{
	struct buf	 b;
	char		*slash, *real = NULL;
	int		 r = -1;

	buf_init(&b);
	/* OUT a symlink: the directory it names is the one replaced. */
	if (lstat(out, &o->oldst) == 0 && S_ISLNK(o->oldst.st_mode) &&
	    (real = realpath(out, NULL)) != NULL)
		out = real;
	if ((o->out = strdup(out)) == NULL)
		goto oom;
	if ((slash = strrchr(o->out, '/')) == NULL) {
		o->parent = strdup(".");
		o->name = strdup(o->out);
	} else {
		o->parent = slash == o->out ? strdup("/") :
		    strndup(o->out, (size_t)(slash - o->out));
		o->name = strdup(slash + 1);
	}
	if (o->parent == NULL || o->name == NULL)
		goto oom;
	if (o->name[0] == '\0' || strcmp(o->name, ".") == 0 ||
	    strcmp(o->name, "..") == 0) {
		fprintf(stderr, "html2gmi: %s: give the capsule directory by "
		    "its name (html2gmi replaces it with a rename)\n", out);
		goto out;
	}
	if (buf_printf(&b, "%s/.%s" OLD_TAG, o->parent, o->name) == -1)
		goto oom;
	o->old = buf_steal(&b);
	r = 0;
	goto out;
oom:
	say(out, "out of memory");
out:
	buf_free(&b);
	free(real);
	return r;
}

/*
 * Lock the capsule's parent directory (made if need be), one run at a
 * time, and see what stands at the capsule's name.
 */
static int
outdir_lock(struct outdir *o)
{
	struct stat pst;

	if (mkdirs(o->parent) == -1)
		return say_errno(o->parent, "cannot create directory");
	if ((o->pfd = open(o->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || fstat(o->pfd, &pst) == -1)
		return say_errno(o->parent, "cannot open");
	if (flock(o->pfd, LOCK_EX) == -1)
		return say_errno(o->parent, "cannot lock");
	if (lstat(o->out, &o->oldst) == -1)
		return errno == ENOENT ? 0 : say_errno(o->out, "cannot read");
	if (!S_ISDIR(o->oldst.st_mode))
		return say(o->out, "not a directory");
	if (o->oldst.st_dev != pst.st_dev) {
		fprintf(stderr, "html2gmi: %s: a mount point; html2gmi "
		    "builds the new capsule beside it and renames it "
		    "into place, so give a directory inside the mount\n",
		    o->out);
		return -1;
	}
	o->had_old = true;
	return 0;
}

/* The new capsule's directory, beside the old, with the old's mode. */
static int
outdir_mkbuild(struct outdir *o)
{
	struct buf	 b;
	mode_t		 mask;
	int		 fd;

	buf_init(&b);
	if (buf_printf(&b, "%s/.%s" NEW_TAG "XXXXXX", o->parent, o->name) ==
	    -1) {
		buf_free(&b);
		return say(o->out, "out of memory");
	}
	o->build = buf_steal(&b);
	if (mkdtemp(o->build) == NULL) {
		fprintf(stderr, "html2gmi: %s: cannot build the new capsule "
		    "beside it: %s: %s\n", o->out, o->build, strerror(errno));
		free(o->build);
		o->build = NULL;
		return -1;
	}
	if ((fd = open(o->build, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return say_errno(o->build, "cannot open");
	/* mkdtemp's 0700 would hide the capsule from the server's user. */
	mask = umask(0);
	umask(mask);
	if (o->had_old ? keep_attrs(o, fd, ".", true) == -1 :
	    fchmod(fd, 0777 & ~mask) == -1) {
		if (!o->had_old)
			say_errno(o->build, "cannot set the mode");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Start a build for the capsule at out: lock its parent directory (one
 * run at a time), clear what earlier runs left, create the build.
 */
int
outdir_begin(struct outdir *o, const char *out)
{
	memset(o, 0, sizeof(*o));
	o->pfd = -1;
	if (outdir_names(o, out) == -1 || outdir_lock(o) == -1 ||
	    remove_leftovers(o) == -1 ||
	    (o->had_old && read_made_list(o) == -1) ||
	    outdir_mkbuild(o) == -1) {
		outdir_abort(o);
		return -1;
	}
	return 0;
}

/* Carry the old capsule's own files over, then swap the build in. */
int
outdir_commit(struct outdir *o)
{
	const char	*tmp;
	struct buf	 list;
	int		 r;

	/* Written first: the old list is then "made again", not carried. */
	buf_init(&list);
	if (buf_append(&list, o->made.data, o->made.len) == -1)
		return say(o->out, "out of memory");
	r = outdir_write(o, MADE_LIST, &list);
	buf_free(&list);
	if (r == -1)
		return -1;
	if (o->had_old && carry_dir(o, "", 0) == -1)
		return -1;
	/* Written through before the switch: no rename of unwritten data. */
	if (syncfs(o->pfd) == -1) {
		fprintf(stderr, "html2gmi: %s: cannot write: %s; %s is left as "
		    "it was\n", o->build, strerror(errno), o->out);
		return -1;
	}
	tmp = strrchr(o->build, '/') + 1;
	if (!o->had_old) {
		if (renameat2(o->pfd, tmp, o->pfd, o->name, RENAME_NOREPLACE) ==
		    -1 && (errno != EINVAL ||
		    renameat(o->pfd, tmp, o->pfd, o->name) == -1))
			goto fail;
	} else if (renameat2(o->pfd, tmp, o->pfd, o->name, RENAME_EXCHANGE) ==
	    -1) {
		/* A file system without exchange: two renames, a gap between. */
		if (errno != EINVAL ||
		    renameat(o->pfd, o->name, o->pfd, strrchr(o->old, '/') + 1)
		    == -1)
			goto fail;
		if (renameat(o->pfd, tmp, o->pfd, o->name) == -1) {
			(void)renameat(o->pfd, strrchr(o->old, '/') + 1, o->pfd,
			    o->name);
			goto fail;
		}
	} else if (renameat(o->pfd, tmp, o->pfd, strrchr(o->old, '/') + 1) ==
	    -1)
		say_errno(o->build, "cannot rename the old capsule");
	free(o->build);
	o->build = NULL;	/* nothing left to remove */
	return 0;
fail:
	fprintf(stderr, "html2gmi: %s: cannot rename %s into place: %s; %s "
	    "is left as it was\n", o->out, o->build, strerror(errno), o->out);
	return -1;
}

/* Remove the build (if any) and let go of the lock. */
void
outdir_abort(struct outdir *o)
{
	if (o->build != NULL && rm_tree(o->build) == -1)
		say_errno(o->build, "cannot remove");
	free(o->build);
	o->build = NULL;
	if (o->pfd != -1)
		close(o->pfd);
	o->pfd = -1;
	free(o->out);
	free(o->parent);
	free(o->name);
	free(o->old);
	o->out = o->parent = o->name = o->old = NULL;
	buf_free(&o->made);
	buf_free(&o->oldmade);
}

/* Does the file at path hold data already?  (Unreadable: no.) */
static bool
same_bytes(const char *path, const struct buf *data)
{
	struct buf	 old, err;
	bool		 same;

	buf_init(&old);
	buf_init(&err);
	same = h2g_read_file(path, &old, H2G_FILE_MAX, &err) == 0 &&
	    old.len == data->len && (data->len == 0 ||
	    memcmp(old.data, data->data, data->len) == 0);
	buf_free(&old);
	buf_free(&err);
	return same;
}

/*
 * One file replaced whole, where no capsule is rebuilt (gemlog mode's
 * index and feed, site mode's redirect list): the bytes go to a hidden
 * temporary beside it (".NAME.XXXXXX": lumbar does not serve dotfiles,
 * and a later build drops a stray one), are written through and renamed
 * over it, so that a reader finds the old file or the new, never part
 * of one.  The file keeps its mode and owner (a new one gets 0666 less
 * the umask); a symbolic link is followed.  A file that holds these
 * bytes already is left alone, time stamp and all.  Returns 1 then, 0
 * when written, -1 after saying on stderr why not (the file unchanged).
 */
int
file_replace(const char *path, const struct buf *data)
{
	struct stat	 st;
	struct buf	 tmp;
	char		*real = NULL, *slash;
	mode_t		 mask;
	bool		 had;
	int		 fd = -1, r = -1;

	buf_init(&tmp);
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
	    (real = realpath(path, NULL)) != NULL)
		path = real;
	if ((had = stat(path, &st) == 0)) {
		if (!S_ISREG(st.st_mode)) {
			say(path, "not a regular file; left as it was");
			goto out;
		}
		if (same_bytes(path, data)) {
			r = 1;
			goto out;
		}
	} else if (errno != ENOENT) {
		say_errno(path, "cannot read");
		goto out;
	}
	slash = strrchr(path, '/');
	if (buf_printf(&tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) :
	    0, path, slash ? slash + 1 : path) == -1) {
		say(path, "out of memory");
		goto out;
	}
	if ((fd = mkostemp(tmp.data, O_CLOEXEC)) == -1) {
		say_errno(tmp.data, "cannot create");
		goto out;
	}
	mask = umask(0);
	umask(mask);
	if (write_fd(fd, data->data, data->len) == -1) {
		say_errno(tmp.data, "cannot write");
		goto fail;
	}
	if (had && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) == -1) {
		fprintf(stderr, "html2gmi: %s: owned by uid %u gid %u, which "
		    "html2gmi cannot give its new version; left as it was "
		    "(run html2gmi as that user, or as root)\n", path,
		    (unsigned)st.st_uid, (unsigned)st.st_gid);
		goto fail;
	}
	if (fchmod(fd, had ? st.st_mode & 07777 : 0666 & ~mask) == -1 ||
	    fsync(fd) == -1) {
		say_errno(tmp.data, "cannot write");
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		say_errno(tmp.data, "cannot write");
		goto fail;
	}
	fd = -1;
	if (rename(tmp.data, path) == -1) {
		say_errno(path, "cannot rename the new version into place");
		goto fail;
	}
	r = 0;
	goto out;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp.data);
out:
	free(real);
	buf_free(&tmp);
	return r;
}
