# Stepwell: `make run` installs what is missing, builds and starts the server;
# `make test` installs, builds and runs every test.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
DATA_DIR ?= ./stepwell-data
LISTEN ?= 127.0.0.1:8420
JOBS ?= 2

APT_PACKAGES := cmake ninja-build g++ pkg-config libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev \
  libsqlite3-dev libpq-dev postgresql libssl-dev libspdlog-dev libcli11-dev libyaml-cpp-dev libgtest-dev \
  libgmock-dev libbenchmark-dev libcurl4-openssl-dev python3 python3-aiosmtpd python3-jsonschema curl ca-certificates \
  chromium libvalijson-dev json-schema-test-suite libsodium-dev libjemalloc-dev libhowardhinnant-date-dev tzdata clang libclang-rt-14-dev
# Node.js and npm build the web UI; installed from Debian only when `node`/`npm` are
# missing (a Node.js from elsewhere, which ships its own npm, is used as it is).
NODE_APT_PACKAGES := nodejs npm

# The web UI (web/): `npm ci` when node_modules is missing or older than the lockfile,
# `npm run build` (the contract's types from docs/openapi.json, typecheck, Vite) when a
# source is newer than the build.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
  web/vite.config.ts web/tsconfig.json web/package.json docs/openapi.json

.PHONY: all deps ui build run test soak sim test-ui test-fuzz fuzz test-sanitize screenshots bench clean format

all: build

# Installs the Debian packages that are not installed yet (needs root or sudo).
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	{ command -v node && command -v npm; } >/dev/null 2>&1 || missing="$$missing $(NODE_APT_PACKAGES)"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

web/node_modules/.package-lock.json: web/package-lock.json | deps
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build
	@touch $@

ui: web/dist/index.html

build: deps $(BUILD_DIR)/build.ninja ui
	ninja -C $(BUILD_DIR) -j $(JOBS)

run: build
	@echo "Admin token: printed below on first start, and kept in $(DATA_DIR)/admin-token"
	$(BUILD_DIR)/stepwell serve --data-dir $(DATA_DIR) --listen $(LISTEN)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j $(JOBS)

# The long reliability runs (docs/reliability.md): SOAK_POWER_LOSSES power losses of the
# store under a concurrent workload (store_powerloss_sqlitetest, a random seed) and
# SOAK_CYCLES kill -9 cycles of the real server under load (tests/e2e/test_crash_cycles.py).
# Each prints its figures.
SOAK_POWER_LOSSES ?= 2000
SOAK_CYCLES ?= 1000

soak: build
	SW_POWERLOSS_CYCLES=$(SOAK_POWER_LOSSES) SW_POWERLOSS_SEED=random \
	  $(BUILD_DIR)/tests/store_powerloss_sqlitetest --gtest_filter='PowerLossTest.*'
	STEPWELL_BIN=$(BUILD_DIR)/stepwell STEPWELL_CRASH_CYCLES=$(SOAK_CYCLES) \
	  python3 tests/e2e/test_crash_cycles.py

# The lifecycle simulation (docs/reliability.md) over SIM_SEEDS seeds from SIM_FIRST_SEED;
# `make test` runs 24. Builds only its own binary; its stores go to SIM_TMPDIR (tmpfs
# when there is one: a seed on disk mostly waits for fsyncs). Prints its figures.
SIM_SEEDS ?= 2000
SIM_FIRST_SEED ?= 1
SIM_TMPDIR ?= $(if $(wildcard /dev/shm),/dev/shm,/tmp)

sim: deps $(BUILD_DIR)/build.ninja
	ninja -C $(BUILD_DIR) -j $(JOBS) simulation_sqlitetest
	TMPDIR=$(SIM_TMPDIR) STEPWELL_SIM_SEEDS=$(SIM_SEEDS) STEPWELL_SIM_FIRST_SEED=$(SIM_FIRST_SEED) \
	  $(BUILD_DIR)/tests/simulation_sqlitetest

# The libFuzzer build (clang, ASan, UBSan): only the parsers and fuzz/'s targets.
FUZZ_BUILD_DIR ?= build-fuzz
# 3 h: the slowest targets need about that long for 10 M executions (docs/reliability.md).
FUZZ_SECONDS ?= 10800
FUZZ_RUNS ?= 10000000

$(FUZZ_BUILD_DIR)/build.ninja:
	cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DSTEPWELL_FUZZ=ON

# A short run of every fuzz target (10 s each, ctest label `fuzz`).
test-fuzz: deps $(FUZZ_BUILD_DIR)/build.ninja
	ninja -C $(FUZZ_BUILD_DIR) -j $(JOBS)
	cd $(FUZZ_BUILD_DIR) && ctest -L fuzz --output-on-failure -j $(JOBS)

# Each target until FUZZ_RUNS executions or FUZZ_SECONDS, JOBS at a time; prints the
# executions, seconds and crashes per target.
fuzz: deps $(FUZZ_BUILD_DIR)/build.ninja
	ninja -C $(FUZZ_BUILD_DIR) -j $(JOBS)
	fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_RUNS) $(JOBS)

# The C++ tests and the e2e suite under AddressSanitizer + UBSan (build-asan/), then under
# ThreadSanitizer (build-tsan/); not part of `make test` (docs/reliability.md).
ASAN_BUILD_DIR ?= build-asan
TSAN_BUILD_DIR ?= build-tsan

# Both run even when the first fails.
test-sanitize: deps
	@status=0; \
	JOBS=$(JOBS) tests/sanitize/run.sh address $(ASAN_BUILD_DIR) || status=1; \
	JOBS=$(JOBS) tests/sanitize/run.sh thread $(TSAN_BUILD_DIR) || status=1; \
	exit $$status

# Only the browser tests of the web UI.
test-ui: build
	cd $(BUILD_DIR) && ctest -L ui --output-on-failure --timeout 600

# Rewrites docs/screenshots/*.png from a real server and browser.
screenshots: build
	node tests/ui/screenshots.mjs

bench: build
	python3 bench/run.py $(if $(W),--workload $(W),) $(if $(STORE),--store $(STORE),) \
	  $(if $(INSTANCES),--instances $(INSTANCES),) $(if $(REPEAT),--repeat $(REPEAT),)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR) $(ASAN_BUILD_DIR) $(TSAN_BUILD_DIR) web/dist
