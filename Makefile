# lumbar: a Gemini and Gopher capsule server, and html2gmi, its converter.
# `make run` builds and serves capsule/; `make test` runs every test.

# The one version of lumbar and html2gmi (--version, html2gmi's Atom feed).
VERSION	 = 0.1.0
CC	?= cc
BUILD	?= build
PYTHON	?= /usr/bin/python3
PREFIX	?= /usr/local
DESTDIR	?=

PKGS		 = openssl libmagic libseccomp libidn2
H2G_PKGS	 = gumbo
WARN		 = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
		   -Wmissing-prototypes -Wno-unused-parameter
CFLAGS		?= -O2 -g
SANITIZE	?=
ALL_CFLAGS	 = -std=c17 -D_GNU_SOURCE -DLUMBAR_VERSION='"$(VERSION)"' \
		   $(WARN) $(CFLAGS) $(SANITIZE) \
		   $(shell pkg-config --cflags $(PKGS) $(H2G_PKGS) 2>/dev/null)
LIBS		 = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lmagic -lseccomp -lidn2)
H2G_LIBS	 = $(shell pkg-config --libs $(H2G_PKGS) 2>/dev/null || echo -lgumbo)
ALL_LDFLAGS	 = $(LDFLAGS) $(SANITIZE)

# Every src/*.c but main.c goes into one archive that lumbar, html2gmi,
# the unit tests and the fuzzers link against.
LIB_SRCS	 = $(filter-out src/main.c, $(wildcard src/*.c))
LIB_OBJS	 = $(LIB_SRCS:src/%.c=$(BUILD)/%.o)
H2G_SRCS	 = $(wildcard src/html2gmi/*.c)
H2G_OBJS	 = $(H2G_SRCS:src/html2gmi/%.c=$(BUILD)/obj-html2gmi/%.o)
UNIT_SRCS	 = $(wildcard tests/unit/test_*.c)
UNIT_BINS	 = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS	 = $(wildcard tests/tools/*.c)
TOOL_BINS	 = $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)

# make run's ports (another when one is taken: make run RUN_PORT=1966
# RUN_GOPHER_PORT=7071) and where it keeps its certificate.
RUN_PORT	?= 1965
RUN_GOPHER_PORT	?= 7070
RUN_CERTS	?= certs
# lumbar will not serve as root: as root, make run serves as nobody.
RUN_USER	?= $(if $(filter 0,$(shell id -u)),--user nobody)

.PHONY: all run test check unit check-asan capsule clean deps install uninstall bench soak bench-servers
.PHONY: bench-html2gmi

all: $(BUILD)/lumbar $(BUILD)/html2gmi

$(BUILD)/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj-html2gmi/%.o: src/html2gmi/%.c src/lumbar.h $(wildcard src/html2gmi/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/liblumbar.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

$(BUILD)/lumbar: $(BUILD)/main.o $(BUILD)/liblumbar.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(BUILD)/main.o $(BUILD)/liblumbar.a $(LIBS)

$(BUILD)/html2gmi: $(H2G_OBJS) $(BUILD)/liblumbar.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(H2G_OBJS) $(BUILD)/liblumbar.a $(H2G_LIBS) $(LIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/liblumbar.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(BUILD)/liblumbar.a $(LIBS) \
	    -lcmocka $(UNIT_LDFLAGS)

# test_oom fails the library's allocations one at a time: its own
# malloc, calloc, realloc and strdup stand in for them (ld --wrap).
$(BUILD)/tests/test_oom: UNIT_LDFLAGS = \
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup

# The tools link the fuzzers' fixture: render_gopher's stand-in for
# capsule_mime() is the one fuzz_render_gopher uses.
$(BUILD)/tests/%: tests/tools/%.c tests/fuzz/common.c tests/fuzz/fuzz.h \
    $(BUILD)/liblumbar.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -Itests/fuzz -o $@ $< tests/fuzz/common.c \
	    $(BUILD)/liblumbar.a $(LIBS)

# Preloaded by test_html2gmi_oom.py to fail one allocation at a time;
# never sanitized (ASan brings its own malloc).
$(BUILD)/tests/failmalloc.so: tests/preload/failmalloc.c
	@mkdir -p $(@D)
	$(CC) -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) -shared -fPIC -o $@ $<

# The load generator: timings only, never part of `make test`.
$(BUILD)/gemload: tests/bench/gemload.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS) -lpthread

# The least server CPU a handshake costs with this OpenSSL: client and
# server in one process, no sockets.  make bench reports it as the floor.
# It links lumbar's own context setup (tls_ctx_new) from the archive.
$(BUILD)/tlsfloor: tests/bench/tlsfloor.c $(BUILD)/liblumbar.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc $(ALL_LDFLAGS) -o $@ $< $(BUILD)/liblumbar.a $(LIBS)

# lumbar beside molly-brown and gophernicus on the same page, in a private
# network namespace; prints the table and writes bench/results.md.
bench: bench-servers
bench: bench-html2gmi
# Installs what it needs first when root, as make test does.
bench-servers:
	@V=$(V) sh contrib/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/lumbar $(BUILD)/gemload \
	    $(BUILD)/tlsfloor
	BUILD=$(BUILD) $(PYTHON) tests/bench/servers.py

# The search index over 10,000 generated articles: build, memory, queries.
.PHONY: bench-search
bench: bench-search
$(BUILD)/search_bench: tests/bench/search_bench.c $(BUILD)/liblumbar.a
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(BUILD)/liblumbar.a $(LIBS)
bench-search: $(BUILD)/search_bench
	$(BUILD)/search_bench

# The worst query for a worker: a word only in the titles of 1 MB pages.
.PHONY: bench-search-worst
bench: bench-search-worst
bench-search-worst: all
	LUMBAR_BUILD=$(BUILD) $(PYTHON) tests/bench/search_worst.py

# make run and make test print little but warnings, errors and results
# (apt's output goes to build/deps.log); V=1 shows every command.
V		?=
QUIET		 = $(if $(V),,-s)

# Installs missing Debian packages when root (or through sudo), else
# names the exact apt-get line and stops.
deps:
	@V=$(V) sh contrib/deps.sh build

# Serve capsule/ on gemini://localhost:1965/ and gopher://localhost:7070/.
run: deps
	@echo "building lumbar (V=1 shows the compiler's lines)"
	@$(MAKE) --no-print-directory $(QUIET) all
	@exec $(BUILD)/lumbar --root capsule --certs $(RUN_CERTS) \
	    --port $(RUN_PORT) --gopher-port $(RUN_GOPHER_PORT) $(RUN_USER)

unit: $(UNIT_BINS)

test check:
	@V=$(V) sh contrib/deps.sh test
	@echo "building lumbar and the tests (V=1 shows the compiler's lines)"
	@$(MAKE) --no-print-directory $(QUIET) all $(UNIT_BINS) $(TOOL_BINS) \
	    $(REPLAY_BINS) $(BUILD)/gemload $(BUILD)/tlsfloor \
	    $(BUILD)/tests/failmalloc.so
	@BUILD=$(BUILD) PYTEST_ARGS="$(PYTEST_ARGS)" $(PYTHON) tests/run.py

# The ASan+UBSan build in build-asan/, which aborts on any report; the
# *-asan targets run their namesake on it.
ASAN_MAKE	 = LUMBAR_SANITIZED=1 $(MAKE) BUILD=build-asan \
		   CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		   SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all"

# The same tests against the ASan+UBSan build.
check-asan:
	$(ASAN_MAKE) test

# Interleaved clients of mixed behaviour against one worker, every whole
# answer checked byte for byte (tests/tools/stress.py; make test runs 3 s of it).
# STRESS_ARGS="--seconds 20" bounds it; stress-asan runs the ASan build.
.PHONY: stress stress-asan
stress: all
	LUMBAR_BUILD=$(BUILD) $(PYTHON) tests/tools/stress.py $(STRESS_ARGS)

stress-asan:
	$(ASAN_MAKE) stress

# Seeded schedules of Gemini and Gopher connections' events through one
# worker (tests/tools/interleave.py; make test runs seeds 1-3): a failure prints
# its seed, and INTERLEAVE_ARGS="--seed N --trace" replays its schedule.
.PHONY: interleave interleave-asan
interleave: all
	LUMBAR_BUILD=$(BUILD) $(PYTHON) tests/tools/interleave.py $(INTERLEAVE_ARGS)

interleave-asan:
	$(ASAN_MAKE) interleave

# A bounded soak (not part of make test): thousands of mixed requests.
soak: all
	$(PYTHON) tests/tools/soak.py $(SOAK_ARGS)

# The capsule's public address goes into atom.xml (its ids and links):
# give the one readers use, e.g. make capsule PUBLIC_URL=gemini://example.org/
# CAPSULE_DIR=/srv/capsule.  The committed capsule is the localhost demo.
# REDIRECTS=FILE also writes lumbar's redirect list from the web site's
# page paths to the capsule's (lumbar.conf: include FILE).
PUBLIC_URL	?= gemini://localhost/
CAPSULE_DIR	?= capsule
REDIRECTS	?=
capsule: $(BUILD)/html2gmi
	$(BUILD)/html2gmi --feed-url '$(PUBLIC_URL)' -o '$(CAPSULE_DIR)' \
	    $(if $(REDIRECTS),--redirects '$(REDIRECTS)') contrib/site/

# The README's pictures: the article in Kristall and Amfora, and its Gopher
# menu in lynx, under Xvfb; written to contrib/screenshots/.  Not in `make test`.
.PHONY: screenshots
screenshots: $(BUILD)/lumbar
	@sh contrib/deps.sh screenshots
	BUILD=$(BUILD) sh contrib/screenshots.sh

# html2gmi against lynx -dump and w3m -dump: 1,000 generated pages for
# speed, then real documentation pages (installed by deps.sh corpus) for
# the share of their content each tool loses.
bench-html2gmi: $(BUILD)/html2gmi
	BUILD=$(BUILD) $(PYTHON) tests/bench/html2gmi_bench.py
	@sh contrib/deps.sh corpus
	BUILD=$(BUILD) $(PYTHON) tests/bench/html2gmi_corpus.py

# Large and pathological inputs up to html2gmi's size limit, and the real
# pages over 250 KB: html2gmi's CPU time against lynx -dump and w3m -dump,
# and h2g_parse, html2gmi's parse alone (the floor under it).
.PHONY: bench-html2gmi-large
bench: bench-html2gmi-large
$(BUILD)/h2g_parse: tests/bench/h2g_parse.c $(filter-out %/main.o,$(H2G_OBJS)) \
    $(BUILD)/liblumbar.a
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(filter-out %/main.o,$(H2G_OBJS)) \
	    $(BUILD)/liblumbar.a $(H2G_LIBS) $(LIBS)
bench-html2gmi-large: $(BUILD)/html2gmi $(BUILD)/h2g_parse
	@sh contrib/deps.sh corpus
	BUILD=$(BUILD) $(PYTHON) tests/bench/html2gmi_large.py

# These unit tests #include the converter's sources they test.
$(BUILD)/tests/test_charset $(BUILD)/tests/test_link: $(H2G_SRCS) \
    $(wildcard src/html2gmi/*.h)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BUILD)/lumbar $(BUILD)/html2gmi $(DESTDIR)$(PREFIX)/bin/
	install -m 644 lumbar.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 lumbar.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 html2gmi.1 $(DESTDIR)$(PREFIX)/share/man/man1/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/lumbar $(DESTDIR)$(PREFIX)/bin/html2gmi \
	    $(DESTDIR)$(PREFIX)/share/man/man8/lumbar.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/lumbar.conf.5 \
	    $(DESTDIR)$(PREFIX)/share/man/man1/html2gmi.1

# libFuzzer targets: tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/
# and an optional dictionary tests/fuzz/NAME.dict.  `make fuzz` builds them
# with clang into build-fuzz/ from objects of their own (coverage and
# sanitizers must be compiled into the code under test, not only linked)
# and runs each for FUZZ_SECONDS (tests/fuzz/run.sh); any crash, leak or
# timeout fails, and the input is kept in build-fuzz/artifacts/.  Some
# only: `make fuzz FUZZ_TARGETS="url gemtext"`.  The same targets linked with
# tests/fuzz/replay.c instead of libFuzzer replay every seed in `make test`.
FUZZ_CC		?= clang
FUZZ_DIR	 = build-fuzz
FUZZ_SECONDS	?= 60
FUZZ_TIMEOUT	?= 10
# FUZZ_RUNS=N: N executions from a fixed seed instead of a time: the same
# inputs every time, so that a run that passes here passes in CI too.
FUZZ_RUNS	?=
FUZZ_SAN	 = address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS	 = -std=c17 -D_GNU_SOURCE -DLUMBAR_VERSION='"$(VERSION)"' \
		   $(WARN) -O1 -g -fno-omit-frame-pointer \
		   $(shell pkg-config --cflags $(PKGS) $(H2G_PKGS) 2>/dev/null)
FUZZ_ALL	 = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS	?= $(FUZZ_ALL)
FUZZ_BINS	 = $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SUPPORT	 = tests/fuzz/common.c tests/fuzz/fuzz.h
FUZZ_LIB_OBJS	 = $(LIB_SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_H2G_OBJS	 = $(filter-out %/main.o,$(H2G_SRCS:src/html2gmi/%.c=$(FUZZ_DIR)/obj-html2gmi/%.o))
REPLAY_BINS	 = $(FUZZ_ALL:%=$(BUILD)/fuzz/fuzz_%)
REPLAY_H2G_OBJS	 = $(filter-out %/main.o,$(H2G_OBJS))

.PHONY: fuzz fuzz-build

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c -o $@ $<

$(FUZZ_DIR)/obj-html2gmi/%.o: src/html2gmi/%.c src/lumbar.h $(wildcard src/html2gmi/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -Isrc -c -o $@ $<

$(FUZZ_DIR)/liblumbar.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJS)

# Only the converter's target needs the converter's objects.
$(FUZZ_DIR)/fuzz_html2gmi: $(FUZZ_H2G_OBJS)
$(FUZZ_DIR)/fuzz_html2gmi: FUZZ_EXTRA = $(FUZZ_H2G_OBJS)
$(BUILD)/fuzz/fuzz_html2gmi: $(REPLAY_H2G_OBJS)
$(BUILD)/fuzz/fuzz_html2gmi: REPLAY_EXTRA = $(REPLAY_H2G_OBJS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SUPPORT) $(FUZZ_DIR)/liblumbar.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -Isrc -o $@ \
	    $< tests/fuzz/common.c $(FUZZ_EXTRA) $(FUZZ_DIR)/liblumbar.a \
	    $(H2G_LIBS) $(LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_SUPPORT) $(BUILD)/liblumbar.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Isrc -o $@ $< tests/fuzz/replay.c \
	    tests/fuzz/common.c $(REPLAY_EXTRA) $(BUILD)/liblumbar.a \
	    $(H2G_LIBS) $(LIBS)

# tests/fuzz/run.sh runs each target (new inputs go to build-fuzz/corpus/
# NAME; the seeds are only read) and fails if any found a crash.
fuzz: fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
	    FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) sh tests/fuzz/run.sh

clean:
	rm -rf build build-asan $(FUZZ_DIR)
