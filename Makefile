# Stepwell: `make run` installs what is missing, builds and starts the server;
# `make test` installs, builds and runs every test.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
DATA_DIR ?= ./stepwell-data
LISTEN ?= 127.0.0.1:8420
JOBS ?= 2

APT_PACKAGES := cmake ninja-build g++ pkg-config libboost1.81-dev nlohmann-json3-dev \
  libsqlite3-dev libssl-dev libspdlog-dev libcli11-dev libyaml-cpp-dev libgtest-dev \
  libgmock-dev libbenchmark-dev python3 curl ca-certificates

.PHONY: all deps build run test bench clean format

all: build

# Installs the Debian packages that are not installed yet (needs root or sudo).
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	ninja -C $(BUILD_DIR) -j $(JOBS)

run: build
	@echo "Admin token: printed below on first start, and kept in $(DATA_DIR)/admin-token"
	$(BUILD_DIR)/stepwell serve --data-dir $(DATA_DIR) --listen $(LISTEN)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j $(JOBS)

bench: build
	python3 bench/run.py $(if $(W),--workload $(W),)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)
