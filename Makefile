# tiedote - message-driven notification and newsletter service.
#
#   make            build build/tiedoted and build/tiedote
#   make deps       install the Debian 12 packages (apt-get update first)
#   make demo       run the worker on its embedded defaults with example data
#   make check      all tests (unit, integration, contract); ends "N passed, N failed"
#   make check-asan the same tests built with AddressSanitizer + UBSan
#   make fuzz       libFuzzer targets, a short run each (FUZZ_SECONDS)
#   make bench      benchmarks, reported as ratios to a same-run baseline
#   make screenshot docs/bulletin-fi*.png from headless Chromium
#   make install PREFIX=/usr/local DESTDIR=

PREFIX	?= /usr/local
DESTDIR	?=
BUILD	?= build
CC	?= cc

PKGS	 = libzmq jansson sqlite3 inih libsodium libcurl libical libsystemd libmicrohttpd gnutls libcrypto
# Recursive (=), not simple (:=): expanded when a recipe runs, so that
# "make deps all" finds the libraries that deps has just installed.  A
# missing package fails the compile with pkg-config's own message.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
# libetpan ships no pkg-config file; its libetpan-config adds link specs we
# do not want, so name the library directly.
ETPAN_LIBS = -letpan

WARN	 = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS	?= -O2 -g
# an installed tiedoted finds $(PREFIX)/share/tiedote/templates by itself
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN_FLAGS) -D_GNU_SOURCE \
	   -DTIEDOTE_DATADIR='"$(PREFIX)/share/tiedote"' \
	   $(SRC_INC) $(PKG_CFLAGS) -MMD -MP
LIBS	 = $(PKG_LIBS) $(ETPAN_LIBS) -lm

# src/ is grouped by role (docs/architecture.md, "Source layout"): the
# library folders go into libtiedote.a; cli/ is tiedote's own, worker/
# tiedoted's.  Every folder is on the quote include path, so a module
# includes "buf.h" wherever it lives.
SRC_DIRS = $(sort $(dir $(wildcard src/*/*.c)))
SRC_INC	 = $(addprefix -iquote ,$(SRC_DIRS:/=))
MAINS	 = src/worker/tiedoted.c src/cli/tiedote.c
# the CLI's own objects (tiedote only, not in libtiedote.a): cli.c + cli_*.c
CLI_SRCS = $(filter-out src/cli/tiedote.c,$(wildcard src/cli/*.c))
CLI_OBJS = $(CLI_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_SRCS = $(filter-out src/cli/% src/worker/%,$(wildcard src/*/*.c))
LIB_OBJS = $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
TEST_SRCS = $(wildcard tests/unit/test_*.c)
TEST_BINS = $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS = $(wildcard bench/*.c)
BENCH_BINS = $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

DEB_PKGS = build-essential pkg-config ca-certificates clang libclang-rt-14-dev \
	   libzmq3-dev libcurl4-gnutls-dev libsqlite3-dev sqlite3 libetpan-dev \
	   libjansson-dev libinih-dev libsodium-dev libical-dev \
	   libssl-dev \
	   libgnutls28-dev postfix python3 python3-zmq python3-aiosmtpd python3-jsonschema \
	   python3-icalendar openssl libsystemd-dev libmicrohttpd-dev \
	   python3-prometheus-client mandoc systemd dovecot-imapd dovecot-pop3d \
	   python3-dkim python3-nacl \
	   chromium chromium-driver python3-selenium wrk

.PHONY: all deps demo check check-asan fuzz bench install clean tests screenshot

# manual pages: man/NAME.in with the line '.\" @GENERATED@' replaced by
# what mangen prints from conf.c's table (conf) or the CLI's dispatch
# table (cli); man/tiedoted.8 is written by hand
MANS	 = $(BUILD)/man/tiedote.1 $(BUILD)/man/tiedote.conf.5 $(BUILD)/man/tiedoted.8

all: $(BUILD)/tiedoted $(BUILD)/tiedote $(MANS)

# compiled, then linked: clang refuses -MMD's one .d for a command that
# both compiles a .c and links objects
$(BUILD)/obj/man/mangen.o: man/mangen.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/mangen: $(BUILD)/obj/man/mangen.o $(CLI_OBJS) $(BUILD)/libtiedote.a
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBS)

$(BUILD)/man/tiedote.1: man/tiedote.1.in $(BUILD)/mangen
	@mkdir -p $(dir $@)
	$(BUILD)/mangen cli > $@.gen
	sed -e '/^\.\\" @GENERATED@$$/{r $@.gen' -e 'd;}' man/tiedote.1.in > $@
	rm -f $@.gen

$(BUILD)/man/tiedote.conf.5: man/tiedote.conf.5.in $(BUILD)/mangen
	@mkdir -p $(dir $@)
	$(BUILD)/mangen conf > $@.gen
	sed -e '/^\.\\" @GENERATED@$$/{r $@.gen' -e 'd;}' man/tiedote.conf.5.in > $@
	rm -f $@.gen

$(BUILD)/man/tiedoted.8: man/tiedoted.8
	@mkdir -p $(dir $@)
	cp man/tiedoted.8 $@

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libtiedote.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tiedoted: $(BUILD)/obj/worker/tiedoted.o $(BUILD)/libtiedote.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tiedote: $(BUILD)/obj/cli/tiedote.o $(CLI_OBJS) $(BUILD)/libtiedote.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(BUILD)/libtiedote.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libtiedote.a $(LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libtiedote.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libtiedote.a $(LIBS)

tests: all $(TEST_BINS)

deps:
	apt-get update
	echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PKGS)

demo: all
	./tests/demo.sh $(BUILD)

check: tests
	./tests/run.sh $(BUILD)

check-asan:
	$(MAKE) BUILD=build-asan CC=clang CFLAGS='-O1 -g -fno-omit-frame-pointer' \
	    SAN_FLAGS='-fsanitize=address,undefined -fno-sanitize-recover=all' tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ./tests/run.sh build-asan

FUZZ_SECONDS ?= 20
FUZZ_TARGETS = $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
# fuzz_lmtp runs the classifier on every message a session stores; the
# classifier has its own target, fuzz_classify, so fuzz_lmtp links it
# without coverage feedback (still under ASan and UBSan).  Its comparisons'
# feedback halved fuzz_lmtp's rate and steered the session fuzzer towards
# bounce texts (docs/fuzzing.md).
FUZZ_PLAIN_fuzz_lmtp = inbound/classify
FUZZ_PLAIN_OBJS = $(foreach t,$(FUZZ_TARGETS),$(FUZZ_PLAIN_$(t):%=build-fuzz/plain/%.o))
comma	:= ,
$(BUILD)/plain/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(subst fuzzer-no-link$(comma),,$(ALL_CFLAGS)) -c -o $@ $<

fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS='-O1 -g' \
	    SAN_FLAGS='-fsanitize=fuzzer-no-link,address,undefined' \
	    build-fuzz/libtiedote.a $(FUZZ_PLAIN_OBJS)
	@set -e; $(foreach t,$(FUZZ_TARGETS), \
	    clang -std=gnu11 -g -O1 $(SRC_INC) $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	        -o build-fuzz/$(t) fuzz/$(t).c $(FUZZ_PLAIN_$(t):%=build-fuzz/plain/%.o) \
	        build-fuzz/libtiedote.a $(LIBS); \
	    mkdir -p build-fuzz/corpus-$(t); \
	    build-fuzz/$(t) -max_total_time=$(FUZZ_SECONDS) -max_len=300000 \
	        build-fuzz/corpus-$(t) fuzz/seeds/$(t) $$(test -d fuzz/corpus/$(t) && echo fuzz/corpus/$(t));)

bench: all $(BENCH_BINS)
	./bench/run.sh $(BUILD)

# docs/bulletin-fi.png and docs/bulletin-fi-phone.png: the fi bulletin of the
# golden test in headless Chromium (Debian's chromium; not a test dependency)
screenshot: all
	./docs/screenshot.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)$(PREFIX)/share/tiedote/templates $(DESTDIR)$(PREFIX)/share/tiedote/queue \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)/etc/tiedote \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BUILD)/tiedote $(DESTDIR)$(PREFIX)/bin/tiedote
	install -m 755 $(BUILD)/tiedoted $(DESTDIR)$(PREFIX)/sbin/tiedoted
	install -m 644 $(BUILD)/man/tiedote.1 $(DESTDIR)$(PREFIX)/share/man/man1/tiedote.1
	install -m 644 $(BUILD)/man/tiedote.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/tiedote.conf.5
	install -m 644 $(BUILD)/man/tiedoted.8 $(DESTDIR)$(PREFIX)/share/man/man8/tiedoted.8
	cp -R templates/. $(DESTDIR)$(PREFIX)/share/tiedote/templates/
	cp -R queue/. $(DESTDIR)$(PREFIX)/share/tiedote/queue/
	sed 's,@SBINDIR@,$(PREFIX)/sbin,g' systemd/tiedoted.service \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/tiedoted.service
	test -e $(DESTDIR)/etc/tiedote/tiedote.conf || \
	    sed -e 's,^path = ./var/tiedote.db,path = /var/lib/tiedote/tiedote.db,' \
	        -e 's,^templates = ./templates,templates = $(PREFIX)/share/tiedote/templates,' \
	        tiedote.conf.example > $(DESTDIR)/etc/tiedote/tiedote.conf
	# readable by the unit's user: the file holds no secret (the relay's
	# password, keys and the token key live in files of their own, each
	# refused when others may read it)
	chmod 644 $(DESTDIR)/etc/tiedote/tiedote.conf

clean:
	rm -rf build build-asan build-fuzz

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/plain/*/*.d $(BUILD)/tests/*.d $(BUILD)/bench/*.d)
