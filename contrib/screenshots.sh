#!/bin/sh
# screenshots.sh: the README's pictures of what a reader sees, taken from
# real clients against the real server (`make screenshots`; not part of
# `make test`).
#
# It serves capsule/ with $BUILD/lumbar on 127.0.0.1 only, with a throw-away
# certificate directory, and inside one Xvfb display (xvfb-run) takes:
#   contrib/screenshots/kristall-article.png  the article in Kristall
#   contrib/screenshots/amfora-article.png    the article in Amfora (xterm)
#   contrib/screenshots/lynx-gopher.png       the article's Gopher menu in lynx
# Each client starts with an empty HOME, so it trusts the certificate on
# first use as a new reader's would.  A picture is taken once lumbar has
# logged the client's request and two captures in a row agree (the client
# has finished drawing); no fixed pauses.  The pictures are cut to 64
# colours and checked to be under 150 KB.  Every process started here is
# stopped.
#
# The packages: sh contrib/deps.sh screenshots
set -eu
cd "$(dirname "$0")/.."

ARTICLE=/articles/inversion-therapy.gmi
OUT=${OUT:-contrib/screenshots}
W=1000
H=750
MAX_BYTES=153600

# Bounded wait: until CMD succeeds, at most N tries 0.2 s apart.
wait_for() {
	n=$1; shift
	while [ "$n" -gt 0 ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		n=$((n - 1))
		sleep 0.2
	done
	return 1
}

# Save the window (or root) as a small PNG and check its size.
shrink() {
	convert "$1" -strip -resize "${3}x>" -colors 64 "PNG8:$2"
	bytes=$(wc -c <"$2")
	echo "screenshots.sh: $2 ($(identify -format '%wx%h' "$2"), $bytes bytes)"
	if [ "$bytes" -gt $MAX_BYTES ]; then
		echo "screenshots.sh: $2 is over $MAX_BYTES bytes" >&2
		return 1
	fi
}

# Inside xvfb-run: drive the clients, one at a time.
if [ "${1:-}" = "--inner" ]; then
	tmp=$2 url=$3 gurl=$4 title=$5 gsel=$6
	pid=
	stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; pid=; }
	trap stop EXIT

	# A fresh HOME for each client: no trust store, no configuration.
	fresh() {
		export HOME="$tmp/home-$1" LANG=C.UTF-8
		export XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache"
		export XDG_DATA_HOME="$HOME/.local/share"
		mkdir -p "$HOME"
	}
	window() {	# the id of the first visible window named $1
		xdotool search --onlyvisible --name "$1" 2>/dev/null | head -n 1
	}
	named() { [ -n "$(window "$1")" ]; }
	of_pid() {	# the window of process $1 (an xterm)
		xdotool search --onlyvisible --pid "$1" 2>/dev/null | head -n 1
	}
	has_window() { [ -n "$(of_pid "$1")" ]; }
	# lumbar has logged at least $1 requests for "$2" (a log line is
	# written once the answer is sent).
	served() {
		[ "$(grep -c -F "\"$2\"" "$tmp/lumbar.log")" -ge "$1" ]
	}
	# Capture window $1 into $2 until two captures 0.2 s apart differ in
	# at most 50 pixels (a blinking caret), at most 30 tries: a picture
	# of the finished page, not of one half drawn.
	settled() {
		import -window "$1" "$2"
		n=30
		while [ $n -gt 0 ]; do
			sleep 0.2
			import -window "$1" "${2%.png}.next.png"
			if compare -metric AE "$2" "${2%.png}.next.png" null: 2>&1 |
			    awk '{ exit !($1 + 0 <= 50) }'; then
				rm -f "${2%.png}.next.png"
				return 0
			fi
			mv "${2%.png}.next.png" "$2"
			n=$((n - 1))
		done
		echo "screenshots.sh: $2 did not settle" >&2
		return 1
	}
	# The command an xterm runs: once its terminal has its final size
	# (100x30), so that the client wraps to it.
	# shellcheck disable=SC2016 # expanded by the inner sh
	sized='n=50; while [ "$(stty size)" != "30 100" ] && [ $n -gt 0 ]; do
	    sleep 0.1; n=$((n - 1)); done; exec "$@"'

	# (a) Kristall.  Debian 12's Kristall ignores a URL on its command
	# line: type it into the address bar.  Its window title becomes the
	# page's title once the page is shown.
	fresh kristall
	kristall >"$tmp/kristall.log" 2>&1 &
	pid=$!
	wait_for 75 named 'Kristall' ||
	    { echo "screenshots.sh: no Kristall window" >&2; exit 1; }
	wid=$(window 'Kristall')
	xdotool windowmove "$wid" 0 0 windowsize "$wid" $W $H
	xdotool windowfocus --sync "$wid"
	xdotool key ctrl+l
	xdotool type --delay 10 "$url"
	xdotool key Return
	re=$(printf '%s' "$title" | sed 's/[][\\.*^$?+(){}|]/\\&/g')
	wait_for 75 named "^$re - Kristall" || {
		echo "screenshots.sh: Kristall did not show the article:" >&2
		tail -n 20 "$tmp/kristall.log" >&2
		exit 1
	}
	settled root "$tmp/kristall.png"
	stop
	shrink "$tmp/kristall.png" "$OUT/kristall-article.png" 800

	# (b) Amfora in a real terminal, 100x30.
	fresh amfora
	xterm -geometry 100x30+0+0 -fa 'DejaVu Sans Mono' -fs 11 \
	    -bg black -fg gray90 -tn xterm-256color  \
	    -e sh -c "$sized" sh amfora "$url" &
	pid=$!
	wait_for 75 has_window "$pid" ||
	    { echo "screenshots.sh: no xterm for Amfora" >&2; exit 1; }
	# Amfora pins the key on first use (tofu.toml) and shows the page.
	wait_for 75 test -s "$XDG_CACHE_HOME/amfora/tofu.toml" ||
	    { echo "screenshots.sh: Amfora did not reach lumbar" >&2; exit 1; }
	wait_for 75 served 1 "$url" ||
	    { echo "screenshots.sh: Amfora's request not logged" >&2; exit 1; }
	# A page that arrives before Amfora has measured its terminal is
	# wrapped to max_width (100 columns), wider than the text area; a
	# reload (Ctrl-R) wraps it to the terminal, as a reader sees it.
	wid=$(of_pid "$pid")
	settled "$wid" "$tmp/amfora.png"
	xdotool windowfocus --sync "$wid"
	xdotool key ctrl+r
	wait_for 75 served 2 "$url" ||
	    { echo "screenshots.sh: Amfora did not reload" >&2; exit 1; }
	settled "$wid" "$tmp/amfora.png"
	stop
	shrink "$tmp/amfora.png" "$OUT/amfora-article.png" 800

	# (c) lynx on Gopher: the article as a Gopher menu.
	fresh lynx
	xterm -geometry 100x30+0+0 -fa 'DejaVu Sans Mono' -fs 11 \
	    -bg black -fg gray90 -tn xterm-256color  \
	    -e sh -c "$sized" sh lynx -nopause "$gurl" &
	pid=$!
	wait_for 75 has_window "$pid" ||
	    { echo "screenshots.sh: no xterm for lynx" >&2; exit 1; }
	wait_for 75 served 1 "$gsel" ||
	    { echo "screenshots.sh: lynx's request not logged" >&2; exit 1; }
	settled "$(of_pid "$pid")" "$tmp/lynx.png"
	stop
	shrink "$tmp/lynx.png" "$OUT/lynx-gopher.png" 800
	exit 0
fi

BUILD=${BUILD:-build}
missing=
for c in xvfb-run Xvfb xdotool import convert identify kristall xterm \
    amfora lynx python3 "$BUILD/lumbar"; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
if [ -n "$missing" ]; then
	echo "screenshots.sh: missing:$missing (sh contrib/deps.sh screenshots;" \
	    "make)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lumbar-shots.XXXXXX")
lumbar=
cleanup() {
	if [ -n "$lumbar" ]; then
		kill "$lumbar" 2>/dev/null || true
		wait "$lumbar" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The standard ports make clean URLs in the pictures; others when taken.
port() {
	python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$1"
}
gport=$(port 1965)
pport=$(port 70)
[ "$pport" = "$gport" ] && pport=$(port 0)
user=
[ "$(id -u)" = 0 ] && user="--user nobody"
mkdir -p "$tmp/certs" "$OUT"
# shellcheck disable=SC2086
"$BUILD/lumbar" --root capsule --certs "$tmp/certs" --listen 127.0.0.1 \
    --port "$gport" --gopher-port "$pport" $user >"$tmp/lumbar.log" 2>&1 &
lumbar=$!

ready() {
	python3 -c 'import socket, ssl, sys
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
c.check_hostname = False
c.verify_mode = ssl.CERT_NONE
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2) as r:
    with c.wrap_socket(r, server_hostname="localhost") as s:
        s.sendall(b"gemini://localhost/\r\n")
        sys.exit(0 if s.recv(3).startswith(b"20") else 1)' "$gport"
}
wait_for 50 ready || {
	echo "screenshots.sh: lumbar did not start:" >&2
	cat "$tmp/lumbar.log" >&2
	exit 1
}

host=localhost
[ "$gport" = 1965 ] && url="gemini://$host$ARTICLE" ||
    url="gemini://$host:$gport$ARTICLE"
[ "$pport" = 70 ] && gurl="gopher://$host/1$ARTICLE" ||
    gurl="gopher://$host:$pport/1$ARTICLE"
title=$(sed -n 's/^# //p' "capsule$ARTICLE" | head -n 1)

# -noreset: by default the X server resets when its last client leaves,
# and a client started during the reset (the next xterm) cannot connect.
xvfb-run -a -s "-screen 0 ${W}x${H}x24 -nolisten tcp -noreset" \
    sh "$0" --inner "$tmp" "$url" "$gurl" "$title" "$ARTICLE"
