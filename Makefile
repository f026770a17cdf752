# Thin wrapper: the real build is CMake. `make run` and `make test` are the
# two commands the README promises; both install what a fresh machine lacks.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build run test test-unit test-integration test-kafka sanitize format clean FORCE

all: build

deps:
	@scripts/install-deps.sh

# The build type and CMAKE_ARGS of the last configure, kept in the build
# directory. The file changes only when they do (the cmp below), and then
# the configure runs again on a fresh cache: values a former CMAKE_ARGS set
# would otherwise stay in CMakeCache.txt.
CONFIG_STAMP = $(BUILD)/.erpsync-configure
CONFIG_WORDS = $(BUILD_TYPE) $(CMAKE_ARGS)

$(CONFIG_STAMP): FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' '$(CONFIG_WORDS)' | cmp -s - $@ || printf '%s\n' '$(CONFIG_WORDS)' >$@

$(BUILD)/CMakeCache.txt: $(CONFIG_STAMP)
	@rm -f $(BUILD)/CMakeCache.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Quiet: the build's output is shown only when it fails; then the programs.
RUN_LOG = $(BUILD)/make-run.log
run:
	@mkdir -p $(BUILD)
	@echo "make run: building (output in $(RUN_LOG))"
	@$(MAKE) --no-print-directory -s build >$(RUN_LOG) 2>&1 || { \
	    cat $(RUN_LOG) >&2; echo "make run: the build failed (see above)" >&2; exit 1; }
	@scripts/run-local.sh $(BUILD)

FORCE:

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

# Every tracked C file as .clang-format writes it (CI checks the same).
format:
	git ls-files '*.c' '*.h' | xargs clang-format --style=file -i

clean:
	rm -rf $(BUILD) build-sanitize
