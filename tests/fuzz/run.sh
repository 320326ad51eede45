#!/bin/sh
# run.sh: `make fuzz`'s loop (the Makefile builds the targets first and
# passes its variables).  Each built libFuzzer target $FUZZ_DIR/fuzz_NAME
# runs over its seeds (tests/fuzz/corpus/NAME, only read) and what earlier
# runs found ($FUZZ_DIR/corpus/NAME, where new inputs go), with
# tests/fuzz/NAME.dict when there is one: FUZZ_RUNS inputs from a fixed
# seed, so that a run that passes here passes in CI too, or else for
# FUZZ_SECONDS.  Any crash, leak or timeout (FUZZ_TIMEOUT seconds for one
# input) fails, and its input is kept in $FUZZ_DIR/artifacts/.  Prints each
# target's final stats, or the end of its log when it failed, and exits 1
# when any failed.
#
#	FUZZ_TARGETS="url gemtext" FUZZ_RUNS=30000 sh tests/fuzz/run.sh
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RUNS=${FUZZ_RUNS:-}
if [ -z "${FUZZ_TARGETS+set}" ]; then	# all, when not given
	FUZZ_TARGETS=$(for f in tests/fuzz/fuzz_*.c; do
		f=${f#tests/fuzz/fuzz_}; echo "${f%.c}"; done)
fi
if [ -n "$FUZZ_RUNS" ]; then
	limit="-runs=$FUZZ_RUNS -seed=1"
else
	limit="-max_total_time=$FUZZ_SECONDS"
fi

mkdir -p "$FUZZ_DIR/artifacts" || exit 1
failed=
for t in $FUZZ_TARGETS; do
	mkdir -p "$FUZZ_DIR/corpus/$t" || exit 1
	dict=
	test -f "tests/fuzz/$t.dict" && dict="-dict=tests/fuzz/$t.dict"
	log="$FUZZ_DIR/fuzz_$t.log"
	echo "fuzz_$t: $limit, log in $log"
	# $dict and $limit are split into their words on purpose.
	if "$FUZZ_DIR/fuzz_$t" $dict $limit \
	    -timeout="$FUZZ_TIMEOUT" -print_final_stats=1 \
	    -artifact_prefix="$FUZZ_DIR/artifacts/fuzz_$t-" \
	    "$FUZZ_DIR/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
		grep -E '(DONE|average_exec_per_sec)' "$log" | sed 's/^/  /'
	else
		tail -n 40 "$log"
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed; inputs in $FUZZ_DIR/artifacts/"
	exit 1
fi
