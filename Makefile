# nicfile — top-level Makefile.
#   make demo   boot the two-VM test bed and run the main end-to-end job
#   make test   every test (host + VM); ends with "N passed, N failed"
#   make test-pmr  only the CMB tests on PMR-only beds (make test runs them too)
#   make bench  benchmarks (bench/), separate from the tests
#   make fuzz   the long fuzz runs (request handler, message parser), host only
# Both install what they need (make deps) and build the kernel (make kernel).

# The kernel base: Debian's linux-source-6.12 at exactly this version.
LINUX_SOURCE_VERSION := 6.12.117-1~deb12u1

.PHONY: all deps kernel userland test test-pmr demo bench fuzz clean distclean
all: userland

deps:
	@tools/install-deps '$(LINUX_SOURCE_VERSION)'

kernel: deps
	@kernel/build.sh '$(LINUX_SOURCE_VERSION)'

userland: deps
	@$(MAKE) --no-print-directory -f userland.mk

test: deps kernel userland
	@tests/run

# The CMB tests on PMR-only beds of the same sizes (tests/vm/pair,
# NICFILE_DEVMEM): the peer block cache must serve from either memory.
test-pmr: deps kernel userland
	@NICFILE_DEVMEM=pmr tests/run cmb-

demo: deps kernel userland
	@tools/demo

bench: deps kernel userland
	@bench/run
	@bench/devmem

# The long fuzz runs (host only): 10^7 sessions of nicfiled's request handler
# (NICFILE_FUZZ_RUNS to change), then the message parser for 10 minutes.
fuzz: deps
	@tests/host/nicfile-fuzz-requests.test --long
	@NICFILE_FUZZ_SECONDS=600 tests/host/nicfile-fuzz.test

clean:
	@$(MAKE) --no-print-directory -f userland.mk clean
	rm -rf build/vm build/test-logs

# Also drops the kernel tree and objects (ccache keeps rebuilds fast).
distclean:
	rm -rf build
