# Convenience front end over CMake. See README.md.
#   make demo   install dependencies, build, generate text with stories260K (or MODEL=path)
#   make test   build (release + ASan/UBSan) and run every test
JOBS ?= $(shell nproc)
TESTDATA ?= $(abspath ../shared/testdata)
MODEL ?= $(TESTDATA)/models/stories260K/stories260K.bin
PROMPT ?= Once upon a time
CMAKE_FLAGS = -DVKLLM_TESTDATA=$(TESTDATA)

.PHONY: all deps build build-asan demo test test-release test-asan format clean

all: build

deps:
	sh scripts/install-deps.sh

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)

build-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVKLLM_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build-asan -j $(JOBS)

demo: deps build
	./build/vkllm run -m "$(MODEL)" -p "$(PROMPT)" -n 128 --temp 0

test-release: build
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd build-asan && ctest --output-on-failure -j $(JOBS)

test: test-release test-asan

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
