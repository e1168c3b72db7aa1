# Userland build (called by the top Makefile as `make -f userland.mk`).
# Everything lands under build/: build/bin, build/lib, build/tests.
B        := build
CC       ?= gcc
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
VERBS_CFLAGS := $(shell pkg-config --cflags libibverbs librdmacm)
VERBS_LIBS   := $(shell pkg-config --libs libibverbs librdmacm)

# Test programs: one file each, tests/progs/NAME.c -> build/tests/NAME;
# clients of libnicfile, tests/clients/NAME.c -> build/tests/NAME.
TEST_PROGS := $(patsubst tests/progs/%.c,$(B)/tests/%,$(wildcard tests/progs/*.c))
TEST_CLIENTS := $(patsubst tests/clients/%.c,$(B)/tests/%,$(wildcard tests/clients/*.c))

# libnicfile: soname libnicfile.so.0, symbols versioned by userlib/libnicfile.map.
LIB_MAJOR := 0
# The version is the header's (NICFILE_VERSION_MAJOR.NICFILE_VERSION_MINOR).
LIB_VER   := $(shell sed -n 's/^\#define NICFILE_VERSION_MAJOR \([0-9]*\).*/\1/p' include/nicfile.h).$(shell \
               sed -n 's/^\#define NICFILE_VERSION_MINOR \([0-9]*\).*/\1/p' include/nicfile.h)
LIB_SRCS  := userlib/proto.c userlib/sha256.c userlib/errors.c userlib/region.c \
             userlib/connect.c userlib/cq.c userlib/rpc.c userlib/file.c userlib/read.c userlib/compat.c
LIB_OBJS  := $(patsubst userlib/%.c,$(B)/obj/lib/%.o,$(LIB_SRCS))
LIB_REAL  := $(B)/lib/libnicfile.so.$(LIB_VER)
LIB_LINKS := $(B)/lib/libnicfile.so.$(LIB_MAJOR) $(B)/lib/libnicfile.so
HDRS      := include/nicfile.h $(wildcard userlib/*.h server/*.h client/*.h)
INC       := -Iinclude -Iuserlib
RPATH     := -Wl,-rpath,'$$ORIGIN/../lib'
PREFIX    ?= /usr/local

SRV_SRCS  := server/nicfiled.c server/cm.c server/client.c server/requests.c server/workers.c server/exports.c \
             server/allow.c server/privs.c server/confine.c server/files.c
SRV_OBJS  := $(patsubst server/%.c,$(B)/obj/server/%.o,$(SRV_SRCS)) $(B)/obj/lib/proto.o $(B)/obj/lib/sha256.o
CLI_OBJS  := $(patsubst client/%.c,$(B)/obj/client/%.o,$(wildcard client/*.c)) $(B)/obj/lib/sha256.o

# Host unit tests (ASan/UBSan) and the protocol fuzzer (clang libFuzzer).
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRCS := userlib/proto.c userlib/sha256.c userlib/errors.c server/confine.c server/allow.c server/workers.c
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/*.c))
FUZZ_BIN  := $(B)/tests/fuzz/proto-fuzz
# nicfiled's request handler with bytes in, through a fake transport (tests/fuzz/requests_fuzz.c).
REQ_FUZZ  := $(B)/tests/fuzz/requests-fuzz
REQ_FUZZ_SRCS := server/requests.c server/exports.c server/confine.c server/files.c server/allow.c \
                 userlib/proto.c userlib/errors.c

.PHONY: all clean lib bins unit fuzz install
all: $(TEST_PROGS) $(TEST_CLIENTS) lib bins $(B)/examples/nicfile-fetch $(B)/tests/nicfile-hostile
lib: $(LIB_REAL) $(LIB_LINKS) $(B)/lib/nicfile.pc
bins: $(B)/bin/nicfile $(B)/bin/nicfiled
unit: $(UNIT_BINS)
fuzz: $(FUZZ_BIN) $(REQ_FUZZ)

$(B)/tests/%: tests/progs/%.c $(wildcard tests/progs/*.h) | $(B)/tests
	$(CC) $(WARN) $(CFLAGS) $(VERBS_CFLAGS) -o $@ $< $(VERBS_LIBS)

$(B)/tests/%: tests/clients/%.c $(LIB_REAL) $(LIB_LINKS) | $(B)/tests
	$(CC) $(WARN) $(CFLAGS) -Iinclude -o $@ $< -L$(B)/lib -lnicfile $(RPATH)

$(B)/obj/lib/%.o: userlib/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -fPIC $(INC) $(VERBS_CFLAGS) -c -o $@ $<

$(B)/obj/server/%.o: server/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(INC) $(VERBS_CFLAGS) -c -o $@ $<

$(B)/obj/client/%.o: client/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(INC) -c -o $@ $<

$(LIB_REAL): $(LIB_OBJS) userlib/libnicfile.map | $(B)/lib
	$(CC) -shared -Wl,-soname,libnicfile.so.$(LIB_MAJOR) -Wl,--version-script=userlib/libnicfile.map \
		-Wl,-z,defs -o $@ $(LIB_OBJS) $(VERBS_LIBS) -lpthread

# Links depend on the real file, so a new LIB_VER re-points them.
$(B)/lib/libnicfile.so.$(LIB_MAJOR): $(LIB_REAL)
	ln -sf libnicfile.so.$(LIB_VER) $@
$(B)/lib/libnicfile.so: | $(B)/lib
	ln -sf libnicfile.so.$(LIB_MAJOR) $@

# The build-tree .pc points at this checkout; `install` writes a real one.
$(B)/lib/nicfile.pc: userlib/nicfile.pc.in userland.mk | $(B)/lib
	sed -e 's|@PREFIX@|$${pcfiledir}/../..|' -e 's|@INCLUDEDIR@|$${prefix}/include|' \
	    -e 's|@LIBDIR@|$${pcfiledir}|' -e 's|@VERSION@|$(LIB_VER)|' $< > $@

$(B)/bin/nicfiled: $(SRV_OBJS) $(LIB_REAL) $(LIB_LINKS) | $(B)/bin
	$(CC) -o $@ $(SRV_OBJS) -L$(B)/lib -lnicfile $(RPATH) $(VERBS_LIBS) -lpthread

$(B)/bin/nicfile: $(CLI_OBJS) $(LIB_REAL) $(LIB_LINKS) | $(B)/bin
	$(CC) -o $@ $(CLI_OBJS) -L$(B)/lib -lnicfile $(RPATH)

# The example builds the way a user's program would: through nicfile.pc.
$(B)/examples/nicfile-fetch: userlib/examples/nicfile-fetch.c $(LIB_REAL) $(LIB_LINKS) $(B)/lib/nicfile.pc
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -o $@ $< $$(PKG_CONFIG_PATH=$(B)/lib pkg-config --cflags --libs nicfile) $(RPATH)

# A hostile client for the VM tests: links the library objects statically
# to reach the raw-send hook that the shared library does not export.
$(B)/tests/nicfile-hostile: tests/hostile/nicfile-hostile.c $(LIB_OBJS) | $(B)/tests
	$(CC) $(WARN) $(CFLAGS) $(INC) -o $@ $< $(LIB_OBJS) $(VERBS_LIBS) -lpthread

$(B)/tests/unit/%: tests/unit/%.c $(UNIT_SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(SAN) $(INC) -Iserver -pthread -o $@ $< $(UNIT_SRCS)

$(FUZZ_BIN): tests/fuzz/proto_fuzz.c userlib/proto.c userlib/proto.h
	@mkdir -p $(@D)
	clang $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined $(INC) -o $@ tests/fuzz/proto_fuzz.c userlib/proto.c

# SHA-256 is checked, not explored: ASan/UBSan without coverage (it cost the
# fuzzer 70% of its time traced).
$(B)/tests/fuzz/sha256-nocov.o: userlib/sha256.c userlib/sha256.h
	@mkdir -p $(@D)
	clang $(WARN) -O1 -g -fsanitize=address,undefined $(INC) -c -o $@ $<

$(REQ_FUZZ): tests/fuzz/requests_fuzz.c $(REQ_FUZZ_SRCS) $(HDRS) $(B)/tests/fuzz/sha256-nocov.o
	@mkdir -p $(@D)
	clang $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined $(INC) -Iserver $(VERBS_CFLAGS) -o $@ \
		tests/fuzz/requests_fuzz.c $(REQ_FUZZ_SRCS) $(B)/tests/fuzz/sha256-nocov.o

$(B)/tests $(B)/bin $(B)/lib:
	mkdir -p $@

install: lib bins
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(B)/bin/nicfile $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(B)/bin/nicfiled $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 $(LIB_REAL) $(DESTDIR)$(PREFIX)/lib/
	cp -P $(LIB_LINKS) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/nicfile.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$${prefix}/include|' -e 's|@LIBDIR@|$${prefix}/lib|' \
	    -e 's|@VERSION@|$(LIB_VER)|' userlib/nicfile.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nicfile.pc
	for s in 1 3 7 8; do for m in doc/man/*.$$s; do [ -f "$$m" ] && install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done; done

clean:
	rm -rf $(B)/bin $(B)/lib $(B)/tests $(B)/obj $(B)/examples

.PHONY: lib-version
lib-version:
	@echo $(LIB_VER)
