#!/bin/sh
# deps.sh: the Debian packages lumbar needs, in one list.
#   deps.sh build|test|clients|fuzz|all|screenshots|corpus|bench
#                            install what is missing when root (or through
#                            sudo without a password), else print the exact
#                            apt-get line to run and fail.
#   deps.sh --list GROUP     print the packages of GROUP.
# apt's output goes to build/deps.log; V=1 shows it instead.
set -eu

build="gcc make pkg-config libssl-dev libmagic-dev libseccomp-dev libidn2-dev libgumbo-dev"
# groff-base: tests/test_docs.py renders the man pages, warnings counted.
test="$build libcmocka-dev python3 python3-pytest python3-pytest-xdist openssl iproute2 groff-base"
# Real clients the tests drive; a test skips (saying so) without them.
clients="curl lynx w3m amfora tmux gopher bombadillo libxml2-utils haproxy goaccess"
# libFuzzer and the sanitizer runtimes of clang (make fuzz).  The runtimes
# are packaged per clang major version: ask apt which one Debian's clang
# is (14 on Debian 12, 19 on Debian 13), else go by the release.
clang_rt() {
	v=$(apt-cache depends clang 2>/dev/null |
	    sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
	if [ -z "$v" ]; then
		case $(. /etc/os-release 2>/dev/null; echo "${VERSION_ID:-}") in
		13) v=19 ;;
		*) v=14 ;;
		esac
	fi
	echo "libclang-rt-$v-dev"
}
fuzz="clang $(clang_rt)"
all="$test $clients $fuzz"
# `make screenshots` (not part of `make test`): a graphical and a terminal
# client under Xvfb, captured and cut down with ImageMagick.
screenshots="kristall xvfb xauth xdotool imagemagick xterm fonts-dejavu-core amfora lynx python3"
# `make bench-html2gmi` (not part of `make test`): real documentation of
# several generators (Sphinx, DocBook, gtk-doc, doxygen, texinfo,
# asciidoc) and the two text browsers html2gmi is measured against.
corpus="lynx w3m python3-doc debian-reference-en libglib2.0-doc doxygen-doc bash-doc gettext-doc git-doc"

# `make bench-servers` (not part of `make test`): the load generator and
# the OpenSSL floor are built, the peers run in a network namespace (ip),
# gophernicus behind systemd-socket-activate (package systemd), and the
# report names the openssl command's version.  The peers themselves,
# molly-brown and gophernicus, are installed by tests/bench/servers.py.
bench="$build python3 openssl iproute2 systemd"

list=0
if [ "${1:-}" = "--list" ]; then list=1; shift; fi
case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
clients) want="$test $clients" ;;
fuzz) want=$fuzz ;;
all) want=$all ;;
screenshots) want="$build $screenshots" ;;
corpus) want="$build python3 $corpus" ;;
bench) want=$bench ;;
*) echo "usage: deps.sh [--list] build|test|clients|fuzz|all|screenshots|corpus|bench" >&2; exit 2 ;;
esac
if [ $list = 1 ]; then echo $want; exit 0; fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

line="apt-get install -y$missing"
# apt's hundreds of lines go to a log (V=1: to the terminal), so that what
# make run prints last, the server's banner, is what the eye lands on.
log=$(cd "$(dirname "$0")/.." && pwd)/build/deps.log
install_missing() {
	if [ -n "${V:-}" ]; then
		"$@" apt-get install -y $missing ||
		    { "$@" apt-get update && "$@" apt-get install -y $missing; }
	else
		mkdir -p "$(dirname "$log")"
		{ "$@" apt-get install -y -q $missing ||
		    { "$@" apt-get update && "$@" apt-get install -y -q $missing; }
		} >"$log" 2>&1 ||
		    { tail -n 20 "$log" >&2; echo "deps.sh: failed; see $log" >&2
		      return 1; }
	fi
}
if [ "$(id -u)" = 0 ]; then
	echo "deps.sh: installing$missing (log: $log)"
	install_missing env DEBIAN_FRONTEND=noninteractive
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	echo "deps.sh: installing$missing (sudo; log: $log)"
	install_missing sudo -n env DEBIAN_FRONTEND=noninteractive
else
	echo "deps.sh: missing Debian packages; as root, run:" >&2
	echo "    $line" >&2
	exit 1
fi
