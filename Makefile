# Thin wrapper: the real build is CMake. `make run` and `make test` are the
# two commands the README promises; both install what a fresh machine lacks.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build run test test-unit test-integration test-kafka sanitize clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-local.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

test-integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# The end-to-end suite again, on a real Apache Kafka (KRaft, fetched with
# Maven on first use; see tests/kafka/README.md).
test-kafka: build
	@scripts/install-deps.sh --kafka
	cd $(BUILD) && ERPSYNC_TEST_BROKER=kafka ctest --output-on-failure -L integration

# ASan + UBSan build of everything, then the whole suite under it.
sanitize:
	$(MAKE) test BUILD=build-sanitize BUILD_TYPE=Sanitize

clean:
	rm -rf $(BUILD) build-sanitize
