#!/bin/sh
# distro-serve.sh: run by `tests/distro.sh RELEASE vps` inside the chroot,
# after the README's VPS recipe, in a network namespace of its own.  No
# systemd runs there, so this starts lumbar as contrib/lumbar.service
# would, from the installed unit's own lines: its User=, its
# AmbientCapabilities= (port 70 without root, each worker's chroot), its
# StateDirectory= (the certificates) and UMask=, and its ExecStart=.  Then
# it reads the Gopher menu on port 70, runs the unit's ExecReload= (which
# must work without procps' /bin/kill) and stops lumbar.  Every wait is
# bounded.
set -eu
unit=/etc/systemd/system/lumbar.service
log=/root/lumbar.log
key() { sed -n "s/^$1=//p" "$unit"; }

user=$(key User)
caps=$(key AmbientCapabilities | tr 'A-Z ' 'a-z\n' |
    sed -n 's/^cap_\(.*\)/+\1/p' | paste -sd, -)
install -d -o "$user" -g "$user" -m "$(key StateDirectoryMode)" \
    "/var/lib/$(key StateDirectory)"
umask "$(key UMask)"
# Emptied before lumbar starts, so that no earlier run's line is waited on.
: >"$log"
# ExecStart's words are the command's, split as systemd splits them here.
# shellcheck disable=SC2046
setpriv --reuid="$user" --regid="$user" --init-groups \
    --inh-caps="$caps" --ambient-caps="$caps" $(key ExecStart) \
    >"$log" 2>&1 &
pid=$!
# Whatever step fails, lumbar does not outlive this script.
trap 'kill $pid 2>/dev/null || :' EXIT

# Until lumbar's log holds $1: at most 30 s, and while lumbar runs.
wait_log() {
	n=0
	until grep -q "$1" "$log"; do
		n=$((n + 1))
		if [ $n -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
			echo "distro-serve.sh: lumbar never logged \"$1\":" >&2
			cat "$log" >&2
			kill $pid 2>/dev/null || :
			exit 1
		fi
		sleep 0.1
	done
}

wait_log 'on Gopher: '
menu=$(timeout 10 bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/70; printf "/\r\n" >&3; cat <&3') || :
case $menu in
*"The Back Pain Advisor"*) ;;
*)
	echo "distro-serve.sh: port 70 answered: $menu" >&2
	kill $pid
	exit 1 ;;
esac
MAINPID=$pid
export MAINPID
eval "$(key ExecReload)"
wait_log 'SIGHUP: reloaded'
kill -TERM $pid
status=0
wait $pid || status=$?
cat "$log"
if [ $status != 0 ]; then
	echo "distro-serve.sh: lumbar exited $status on SIGTERM" >&2
	exit 1
fi
echo "distro-serve.sh: lumbar started, answered on port 70, reloaded and stopped as the unit would"
