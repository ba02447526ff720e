# Thin wrapper over CMake. `make run` and `make test` install what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 10
PORT       ?= 3000
CMAKE_FLAGS ?=

.PHONY: all build run test test-fast test-asan fuzz fuzz-build bench soak scale install format clean deps

all: build

deps:
	@scripts/deps

$(BUILD)/Makefile:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory -s

# Builds only what the demo needs, then starts it (Ctrl-C stops it gracefully). With TLS=1 it
# serves HTTPS and wss with a self-signed certificate for localhost made once in
# $(BUILD)/tls/ (SIGHUP reloads it; docs/tls.md).
TLS_DIR := $(BUILD)/tls
run: deps $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) --target weather -- --no-print-directory -s
ifeq ($(TLS),1)
	@mkdir -p $(TLS_DIR) && [ -f $(TLS_DIR)/cert.pem ] || openssl req -x509 -newkey ec \
	  -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=localhost \
	  -addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 \
	  -keyout $(TLS_DIR)/key.pem -out $(TLS_DIR)/cert.pem 2>/dev/null
	@$(BUILD)/bin/weather --port $(PORT) --tls-cert $(TLS_DIR)/cert.pem --tls-key $(TLS_DIR)/key.pem
else
	@$(BUILD)/bin/weather --port $(PORT)
endif

# Every test: the normal build, then the same suite under ASan+UBSan, then each fuzz target
# for FUZZ_SECONDS (10: 16 targets keep `make test` well inside CI's 15 minutes on 2 cores;
# `make fuzz FUZZ_SECONDS=600` for a real search).
test: deps build
	@cd $(BUILD) && ctest --output-on-failure -j 2
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory fuzz

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j 2

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIO_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) -- --no-print-directory -s
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j 2 -LE browser

fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIO_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) -- --no-print-directory -s

fuzz: fuzz-build
	@scripts/run-fuzzers $(FUZZ_BUILD)/fuzz $(FUZZ_SECONDS)

bench: deps build
	@bench/run-all $(BUILD)

# The soak replays the fuzz corpora against an ASan build of the bench server: build it too.
soak: deps build
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIO_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target bench -- --no-print-directory -s
	@SOAK_ASAN_BIN=$(CURDIR)/$(ASAN_BUILD)/bin/bench bench/soak $(BUILD)

# A million concurrent Socket.IO clients on this machine (SCALE_N to choose the count), bounded
# in time; changes sysctls for the run and restores them (docs/operations.md).
scale: build
	@cmake --build $(BUILD) -j $(JOBS) --target bench sio-loadgen -- --no-print-directory -s
	@bench/scale $(BUILD)

install: build
	@cmake --install $(BUILD)

format:
	@find src include examples tests/unit fuzz bench tools -name '*.[ch]' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
