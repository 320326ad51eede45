#!/bin/sh
# distro.sh RELEASE [clients|bench|vps]: what a newcomer does, on a fresh minimal
# Debian RELEASE (bookworm or trixie), as root: the README's apt-get line,
# its git clone (of this repository's HEAD, from a bundle) and `make test`,
# in a chroot made by debootstrap --variant=minbase.  With "clients", also
# `sh contrib/deps.sh clients` before the tests (the real clients they drive).
# With "bench", `make bench-servers` instead of `make test` (it installs
# what it needs, molly-brown and gophernicus included), and its report is
# copied out to bench/results-RELEASE.md: the figures of that release's
# OpenSSL and peers.  BENCH_SECS, BENCH_N, BENCH_HOLD and BENCH_LAYOUTS
# (see tests/bench/servers.py) are passed on, e.g. BENCH_SECS=0.5 for a
# quick check of the mechanism.
# With "vps", the README's "Hosting on a VPS" recipe instead, as written but
# for systemctl (no systemd runs in a chroot): systemd's package first, as
# a VPS has it; the recipe up to `lumbar -n`, with the edit it asks for;
# every step after the clone again, unedited (it must keep the edit, and
# -n still pass); then lumbar started as the unit starts it (its User=,
# AmbientCapabilities=, StateDirectory= and ExecStart=) in a network
# namespace of its own, a Gopher menu read on port 70, the unit's
# ExecReload= run and the reload logged, and a stop.
#
# The debootstrapped base is cached in $LUMBAR_DISTRO_CACHE/RELEASE/base
# (default /var/cache/lumbar-distro); every run starts from a fresh copy of
# it, so only downloaded packages (RELEASE/archives) carry over.  Needs
# root, debootstrap and the network ($DEBIAN_MIRROR, default
# deb.debian.org).  Only committed work is tested: HEAD, not the tree.
set -eu

release=${1:-}
extra=${2:-}
case $release in
bookworm|trixie) ;;
*) echo "usage: sh tests/distro.sh bookworm|trixie [clients|bench|vps]" >&2; exit 2 ;;
esac
case $extra in
''|clients|bench|vps) ;;
*) echo "usage: sh tests/distro.sh bookworm|trixie [clients|bench|vps]" >&2; exit 2 ;;
esac
# The benchmark's knobs, if set, passed into the chroot; digits, dots,
# commas and letters only, so that they need no quoting.
bench_env=
for v in BENCH_SECS BENCH_N BENCH_HOLD BENCH_LAYOUTS; do
	isset='' val=''
	eval "isset=\${$v+1} val=\${$v-}"
	[ -n "$isset" ] || continue
	case $val in
	*[!0-9a-z.,]*) echo "distro.sh: $v=$val: digits, letters, dots and commas only" >&2; exit 2 ;;
	esac
	bench_env="${bench_env}export $v=$val
"
done
if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null; then
	echo "distro.sh: needs root and debootstrap (apt-get install debootstrap)" >&2
	exit 1
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${LUMBAR_DISTRO_CACHE:-/var/cache/lumbar-distro}/$release
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=$cache/base
root=$cache/root
# A benchmark has its own root, so that a `make test` run of the same
# release at the same time does not wipe it.
if [ "$extra" = bench ]; then root=$cache/root-bench; fi
if [ "$extra" = vps ]; then root=$cache/root-vps; fi
# Where the benchmark's report lands, inside the root and out of it.
report=root/bench-results.md
results=$top/bench/results-$release.md

# The README's VPS recipe as a script, up to its systemctl line: first as
# written, with the edit of lumbar.conf it asks for, then every step after
# the clone again, which must keep that edit and still pass `lumbar -n`.
vps_newcomer() {
	recipe=$(awk '/^## Hosting on a VPS/ { f = 1 }
	    f && /^```sh$/ { g = 1; next }
	    g && (/^```$/ || /^systemctl /) { exit }
	    g' "$1")
	dir=$(printf '%s\n' "$recipe" |
	    sed -n 's/^git clone <repository-url> \([^ ]*\) .*/\1/p')
	if [ -z "$dir" ] ||
	    ! printf '%s\n' "$recipe" | grep -q 'contrib/lumbar\.conf /etc/lumbar/'; then
		echo "distro.sh: README.md's VPS recipe lacks its clone or lumbar.conf line" >&2
		exit 1
	fi
	edit="sed -i 's/^hostname example.org\$/hostname your.domain/; s/^#include site-redirects.conf\$/include site-redirects.conf/' /etc/lumbar/lumbar.conf"
	echo 'set -eux'
	echo 'cd /root'
	echo '# A VPS has systemd (systemd-sysusers); debootstrap --variant=minbase has not.'
	echo 'apt-get update && apt-get install -y systemd'
	printf '%s\n' "$recipe" | sed 's|<repository-url>|/root/lumbar.bundle|' |
	    awk -v edit="$edit" '{ print }
		/contrib\/lumbar\.conf \/etc\/lumbar\// {
			print "# the edit the recipe asks for"
			print edit
			print "grep -qx \"hostname your.domain\" /etc/lumbar/lumbar.conf"
		}'
	echo '# Every step after the clone, again.'
	echo "cd $dir"
	printf '%s\n' "$recipe" | sed '1,/^git clone /d'
	echo 'grep -qx "hostname your.domain" /etc/lumbar/lumbar.conf'
	echo 'test ! -e /srv/capsule/capsule'
}

# Mounts live in a private mount namespace, so that nothing done under
# root/ reaches the host's /dev or /sys, and nothing outlives the run even
# if this script is killed; the trap unmounts them on a normal exit.
if [ -z "${LUMBAR_DISTRO_NS:-}" ]; then
	mkdir -p "$cache/archives"
	if [ ! -e "$base/.complete" ]; then
		rm -rf "$base"
		echo "distro.sh: debootstrap $release into $base"
		debootstrap --variant=minbase "$release" "$base" "$mirror" \
		    >"$cache/debootstrap.log" 2>&1 ||
		    { tail -n 20 "$cache/debootstrap.log"; exit 1; }
		: >"$base/.complete"
	fi
	rm -rf "$root"
	cp -a "$base" "$root"
	rm -f "$root/.complete"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# No service starts inside a chroot (haproxy's package would try).
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	git -C "$top" bundle create "$root/root/lumbar.bundle" HEAD 2>/dev/null

	# The newcomer's commands, taken from the README as written.
	readme=$top/README.md
	apt_line=$(grep -m 1 '^apt-get update && apt-get install' "$readme")
	clone_line=$(grep -m 1 '^git clone <repository-url> ' "$readme")
	if [ -z "$apt_line" ] || [ -z "$clone_line" ]; then
		echo "distro.sh: README.md lacks its apt-get or git clone line" >&2
		exit 1
	fi
	if [ "$extra" = vps ]; then
		vps_newcomer "$readme" >"$root/root/newcomer.sh"
		cp "$top/tests/distro-serve.sh" "$root/root/serve.sh"
	else
	{
		echo 'set -eux'
		echo 'cd /root'
		echo "$apt_line"
		echo "$clone_line" | sed 's|<repository-url>|/root/lumbar.bundle|'
		[ "$extra" = clients ] && echo 'sh contrib/deps.sh clients'
		if [ "$extra" = bench ]; then
			printf '%s' "$bench_env"
			# The report is copied out even when a peer was skipped
			# (make bench-servers then exits 1, and so do we).
			echo 'status=0; make bench-servers || status=$?'
			echo "cp bench/results.md /$report"
			echo 'exit $status'
		else
			echo 'make test'
		fi
	} >"$root/root/newcomer.sh"
	fi
	echo "distro.sh: Debian $release, as a newcomer:"
	sed 's/^/    /' "$root/root/newcomer.sh"
	LUMBAR_DISTRO_NS=1 exec unshare --mount --propagation private \
	    sh "$0" "$@"
fi

cleanup() {
	for m in proc sys dev var/cache/apt/archives; do
		umount -R "$root/$m" 2>/dev/null || umount -R -l "$root/$m" 2>/dev/null || :
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --bind "$cache/archives" "$root/var/cache/apt/archives"
start=$(date +%s)
status=0
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive sh /root/newcomer.sh || status=$?
# The unit's start, reload and stop, in a network namespace of its own
# (ports 70 and 1965 of the host are left alone).
if [ "$extra" = vps ] && [ $status = 0 ]; then
	unshare --net sh -c 'ip link set lo up && exec chroot "$1" \
	    /usr/bin/env -i HOME=/root TERM=dumb \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    sh /root/serve.sh' sh "$root" || status=$?
fi
if [ "$extra" = bench ]; then
	if [ -s "$root/$report" ]; then
		cp "$root/$report" "$results"
		echo "distro.sh: wrote $results"
	else
		echo "distro.sh: no benchmark report in $root/$report" >&2
		[ $status != 0 ] || status=1
	fi
fi
echo "distro.sh: Debian $release: exit $status after $(( $(date +%s) - start )) s"
exit $status
