# Makefile - builds runner, mockgw and sim under build/, runs the tests,
# the lint that guards determinism, sanitizer and coverage runs.
#
# The io backend is chosen here, at link time: io_posix for the runner and
# mockgw binaries, io_sim for sim and the unit tests.

CC      ?= gcc
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
PKGS    := libpcap libcjson cunit libmicrohttpd libsystemd

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CJSON_LIBS := $(shell pkg-config --libs libcjson 2>/dev/null)
CUNIT_LIBS := $(shell pkg-config --libs cunit 2>/dev/null)
PCAP_LIBS  := $(shell pkg-config --libs libpcap 2>/dev/null)
# Only the runner binary's operator surface (runner/main_*.c) links these.
SURFACE_LIBS := $(shell pkg-config --libs libmicrohttpd libsystemd 2>/dev/null)

# OPTFLAGS is what sanitize/coverage swap; CFLAGS from the command line adds
# to the fixed flags instead of replacing them. The default build compiles for
# link-time optimisation with fat objects: the programs and benchmarks link
# with LTO (the simulator's hot path crosses proto/, runner/, mockgw/ and
# sim/, and whole-program inlining takes about a fifth off a simulated year),
# while the test binaries link the plain object code (-fno-lto: gcc would
# otherwise see the IR and do LTO anyway), which keeps test_broken_runner's
# -Wl,--wrap working and the test links quick.
OPTFLAGS  ?= -O2 -g -flto=auto -ffat-lto-objects
# Warnings stay errors at the LTO link, except maybe-uninitialized: across
# modules gcc no longer sees that an out-parameter is only read after a 0
# return (each file's own compile still checks it).
LTO_WARN = -Wall -Wextra -Wno-maybe-uninitialized -Werror
LTO_LDFLAGS = $(if $(filter -flto%,$(OPTFLAGS)),$(OPTFLAGS) $(LTO_WARN))
TEST_LDFLAGS = $(if $(filter -flto%,$(OPTFLAGS)),-fno-lto)
ALL_CFLAGS = $(OPTFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -pthread -Wall -Wextra -Werror -MMD -MP \
             $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
LDLIBS  += -lm -pthread

# ---- module sets --------------------------------------------------------
PROTO_SRC  := $(sort $(wildcard proto/*.c))
IOBASE_SRC := io/io_base.c
POSIX_SRC  := io/io_posix.c
IOSIM_SRC  := sim/io_sim.c
GW_SRC     := $(filter-out mockgw/main.c,$(sort $(wildcard mockgw/*.c)))
RN_MAIN    := runner/main.c $(sort $(wildcard runner/main_*.c))
RN_SRC     := $(filter-out $(RN_MAIN),$(sort $(wildcard runner/*.c)))
ENGINE_SRC := $(filter-out sim/main.c sim/io_sim.c,$(sort $(wildcard sim/*.c)))
TESTLIB    := tests/testlib.c
# The mock gateway fixture (a sim loop, a gateway, scripted clients) that
# the gateway-facing test binaries share.
GWCLIENT   := tests/gwclient.c
# The trace record and sim loop that the runner-facing test binaries share.
TEVLOG     := tests/tevlog.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

RUNNER_OBJ := $(call obj,$(RN_MAIN) $(RN_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(POSIX_SRC))
MOCKGW_OBJ := $(call obj,mockgw/main.c $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(POSIX_SRC))
SIM_OBJ    := $(call obj,sim/main.c $(ENGINE_SRC) $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC))

# ---- tests: one CUnit binary per module ---------------------------------
TESTS := proto io_posix io_sim mockgw runner scenario loopback calendar runner_loop cycle \
         mockgw_faults mockgw_surface capture broken_runner status replay cli
TEST_DEPS_proto    := $(PROTO_SRC)
TEST_DEPS_io_posix := $(IOBASE_SRC) $(POSIX_SRC)
TEST_DEPS_io_sim   := $(IOBASE_SRC) $(IOSIM_SRC)
TEST_DEPS_mockgw   := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC) $(GWCLIENT)
TEST_DEPS_runner   := $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC) $(TEVLOG)
TEST_DEPS_scenario := $(ENGINE_SRC) $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
TEST_DEPS_loopback :=
TEST_DEPS_cli :=
TEST_DEPS_calendar := runner/calendar.c runner/calendar_data.c $(PROTO_SRC)
TEST_DEPS_runner_loop := $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC) $(TEVLOG)
TEST_DEPS_cycle := $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC) $(TEVLOG)
TEST_DEPS_mockgw_faults := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC) $(GWCLIENT)
TEST_DEPS_mockgw_surface := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC) $(GWCLIENT)
TEST_DEPS_capture := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
TEST_DEPS_replay := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC) $(GWCLIENT)
# A deliberately broken runner build: ibc_ping is swapped at link time for a
# stand-in that never sends (tests/test_broken_runner.c); the sweep must catch it.
TEST_DEPS_broken_runner := $(TEST_DEPS_scenario)
TEST_DEPS_status := $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
$(BUILD)/tests/test_broken_runner: LDFLAGS += -Wl,--wrap=ibc_ping
TEST_BINS := $(addprefix $(BUILD)/tests/test_,$(TESTS))

BENCHES := codec gateway pcap sim
BENCH_DEPS_codec := $(PROTO_SRC)
BENCH_DEPS_gateway := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(POSIX_SRC)
BENCH_DEPS_pcap := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
BENCH_DEPS_sim := $(ENGINE_SRC) $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
BENCH_BINS := $(addprefix $(BUILD)/bench/bench_,$(BENCHES))

BINS := $(BUILD)/runner $(BUILD)/mockgw $(BUILD)/sim

.PHONY: all build-all deps test run sweep soak lint sanitize tsan valgrind fuzz coverage bench install clean
all: deps $(BINS)

# Installs missing Debian packages (needs root or sudo); quiet when present.
deps:
	@pkg-config --exists $(PKGS) || ci/deps.sh

$(BUILD)/runner: $(RUNNER_OBJ)
	$(CC) $(LDFLAGS) $(LTO_LDFLAGS) -o $@ $^ $(SURFACE_LIBS) $(LDLIBS)
$(BUILD)/mockgw: $(MOCKGW_OBJ)
	$(CC) $(LDFLAGS) $(LTO_LDFLAGS) -o $@ $^ $(PCAP_LIBS) $(CJSON_LIBS) $(LDLIBS)
$(BUILD)/sim: $(SIM_OBJ)
	$(CC) $(LDFLAGS) $(LTO_LDFLAGS) -o $@ $^ $(CJSON_LIBS) $(PCAP_LIBS) $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/tests/test_%: $$(call obj,tests/test_$$*.c $(TESTLIB) $$(TEST_DEPS_$$*))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(TEST_LDFLAGS) -o $@ $^ $(CUNIT_LIBS) $(CJSON_LIBS) $(PCAP_LIBS) $(LDLIBS)
$(BUILD)/bench/bench_%: $$(call obj,bench/bench_$$*.c $$(BENCH_DEPS_$$*))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(LTO_LDFLAGS) -o $@ $^ $(PCAP_LIBS) $(CJSON_LIBS) $(LDLIBS)

# The programs and every test binary, built but not run (CI's build step;
# warnings are errors in every build).
build-all: all $(TEST_BINS)

# The whole suite: every unit binary, the lint self-test, the third-party
# client interop test. The loopback test needs the binaries built first.
test: all $(TEST_BINS)
	@ci/run-tests.sh $(BUILD) $(TESTS)

# The main job: every scenario against the in-process mock gateway.
run: all
	$(BUILD)/sim scenarios/

# The scenario suite under 100 seeds on two workers, with a JUnit report
# (what CI runs; .github/workflows/ci.yml splits it across machines with --shard).
sweep: all
	$(BUILD)/sim --seeds 100 --jobs 2 --junit $(BUILD)/sweep.xml scenarios/

# Soaks, outside the default CI run: tests/soak/ (random faults of every
# kind) under SOAK_SEEDS seeds with no invariant or liveness violation, then
# the live runner against mockgw serve under ctl faults (ci/soak-live.sh).
SOAK_SEEDS ?= 10000
SOAK_MINUTES ?= 5
soak: all
	$(BUILD)/sim --seeds $(SOAK_SEEDS) --jobs 2 --junit $(BUILD)/soak.xml tests/soak/
	ci/soak-live.sh $(SOAK_MINUTES) $(BUILD)

lint:
	@ci/lint.sh

sanitize:
	$(MAKE) BUILD=build/sanitize OPTFLAGS="-O1 -g -fno-omit-frame-pointer" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

# The scenario engine's second thread (sim/tracepipe.c) under ThreadSanitizer:
# the recorder's suite and every scenario under 3 seeds, stopping at the
# first report.
tsan:
	$(MAKE) BUILD=build/tsan OPTFLAGS="-O1 -g" EXTRA_CFLAGS="-fsanitize=thread" \
	  EXTRA_LDFLAGS="-fsanitize=thread" build/tsan/sim build/tsan/tests/test_scenario
	TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/test_scenario
	TSAN_OPTIONS=halt_on_error=1 build/tsan/sim --seeds 3 scenarios/

# Every unit suite and the scenario suite under memcheck: zero errors, zero leaks.
VALGRIND := valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
            --error-exitcode=9
valgrind: all $(filter-out $(BUILD)/tests/test_loopback,$(TEST_BINS))
	@for t in $(filter-out loopback,$(TESTS)); do \
	  $(VALGRIND) $(BUILD)/tests/test_$$t >$(BUILD)/valgrind-$$t.log 2>&1 \
	    && echo "valgrind PASS test_$$t" \
	    || { echo "valgrind FAIL test_$$t"; tail -n 40 $(BUILD)/valgrind-$$t.log; exit 1; }; \
	done
	$(VALGRIND) $(BUILD)/sim scenarios/

# libFuzzer targets (clang): each runs FUZZ_SECONDS on a work copy of its
# committed seed corpus; a crash leaves its input in build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZERS := decoder hello scenario pcap gateway client
FUZZ_DEPS_decoder := $(PROTO_SRC)
FUZZ_DEPS_hello   := $(PROTO_SRC)
FUZZ_DEPS_scenario := $(ENGINE_SRC) $(RN_SRC) $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
FUZZ_DEPS_pcap     := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
FUZZ_DEPS_gateway  := $(GW_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
FUZZ_DEPS_client   := $(RN_SRC) $(PROTO_SRC) $(IOBASE_SRC) $(IOSIM_SRC)
FUZZ_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -pthread -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined $(PKG_CFLAGS)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_DEPS_$$*)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $^ -lm $(CJSON_LIBS) $(PCAP_LIBS)
fuzz: $(addprefix build/fuzz/fuzz_,$(FUZZERS))
	@for f in $(FUZZERS); do \
	  rm -rf build/fuzz/corpus-$$f; mkdir -p build/fuzz/corpus-$$f; \
	  cp tests/fuzz/corpus/$$f/* build/fuzz/corpus-$$f/; \
	  echo "== fuzz_$$f for $(FUZZ_SECONDS)s"; \
	  build/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build/fuzz/$$f- \
	    -print_final_stats=1 build/fuzz/corpus-$$f 2>build/fuzz/$$f.log \
	    || { tail -n 40 build/fuzz/$$f.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' build/fuzz/$$f.log; \
	done

coverage:
	@rm -rf build/coverage coverage/html coverage/*.info
	$(MAKE) BUILD=build/coverage OPTFLAGS="-O0 -g" EXTRA_CFLAGS="--coverage" \
	  EXTRA_LDFLAGS="--coverage" test
	$(BUILD)/coverage/sim scenarios/ >/dev/null || true
	@ci/coverage.sh build/coverage

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build coverage/html coverage/*.info

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
