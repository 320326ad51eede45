#!/bin/sh
# deps.sh: the Debian packages lumbar needs, in one list.
#   deps.sh build|test|all|screenshots|corpus
#                            install what is missing when root (or through
#                            sudo without a password), else print the exact
#                            apt-get line to run and fail.
#   deps.sh --list GROUP     print the packages of GROUP.
set -eu

build="gcc make pkg-config libssl-dev libmagic-dev libseccomp-dev libgumbo-dev"
test="$build libcmocka-dev python3 python3-pytest openssl iproute2"
# Real clients the tests drive; a test skips (saying so) without them.
clients="curl lynx w3m amfora tmux gopher bombadillo libxml2-utils haproxy"
# libFuzzer and the sanitizer runtimes of clang (make fuzz).
fuzz="clang libclang-rt-14-dev"
all="$test $clients $fuzz"
# `make screenshots` (not part of `make test`): a graphical and a terminal
# client under Xvfb, captured and cut down with ImageMagick.
screenshots="kristall xvfb xauth xdotool imagemagick xterm fonts-dejavu-core amfora lynx python3"
# `make bench-html2gmi` (not part of `make test`): real documentation of
# several generators (Sphinx, DocBook, gtk-doc, doxygen, texinfo,
# asciidoc) and the two text browsers html2gmi is measured against.
corpus="lynx w3m python3-doc debian-reference-en libglib2.0-doc doxygen-doc bash-doc gettext-doc git-doc"

list=0
if [ "${1:-}" = "--list" ]; then list=1; shift; fi
case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
fuzz) want=$fuzz ;;
all) want=$all ;;
screenshots) want="$build $screenshots" ;;
corpus) want="$build python3 $corpus" ;;
*) echo "usage: deps.sh [--list] build|test|all|screenshots|corpus" >&2; exit 2 ;;
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
if [ "$(id -u)" = 0 ]; then
	echo "deps.sh: installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y $missing ||
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $missing; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	echo "deps.sh: installing$missing (sudo)"
	sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing ||
	    { sudo -n apt-get update && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing; }
else
	echo "deps.sh: missing Debian packages; as root, run:" >&2
	echo "    $line" >&2
	exit 1
fi
