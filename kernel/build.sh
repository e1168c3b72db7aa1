#!/usr/bin/env bash
# Build the nicfile guest kernel: Debian's linux-source-6.12 (pinned version),
# plus the series in kernel/patches/, plus kernel/nicfile.config over tinyconfig.
#
# Layout under build/ (all ignored by git):
#   linux/            git tree of the source: tag `base` = pristine Debian
#                     source, branch `nicfile` = base + our series
#   kobj-<confighash> out-of-tree objects, one per config fragment
#   kernel/           the result tests use: bzImage, modules/, release, key
#
# The result is keyed by (pinned version, fragment, series, this script); when
# the key is unchanged nothing runs.  Usage: kernel/build.sh PINNED_VERSION
set -euo pipefail

pin=${1:?usage: kernel/build.sh PINNED_DEBIAN_VERSION}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
src=$build/linux
out=$build/kernel
frag=$top/kernel/nicfile.config
tarball=/usr/src/linux-source-6.12.tar.xz
jobs=$(nproc)

die() { echo "kernel/build.sh: $*" >&2; exit 1; }
say() { echo "kernel: $*"; }

have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
[ "$have" = "$pin" ] || die "linux-source-6.12 $pin is required, found '${have:-none}' (run 'make deps')"
[ -r "$tarball" ] || die "$tarball is missing (run 'make deps')"

series_hash() { find "$top/kernel/patches" -name "*.patch" | sort | xargs -r cat | sha256sum | cut -c1-16; }
key=$( { echo "$pin"; cat "$frag" "$0"; series_hash; } | sha256sum | cut -c1-16)

if [ -f "$out/key" ] && [ "$(cat "$out/key")" = "$key" ] && [ -f "$out/bzImage" ]; then
	say "up to date ($(cat "$out/release"), key $key)"
	exit 0
fi
mkdir -p "$build"

# 1. The source tree, as a git repository whose `base` is the Debian source.
if [ -d "$src/.git" ] && [ "$(git -C "$src" config nicfile.base 2>/dev/null)" != "$pin" ]; then
	say "source tree is of another version, unpacking again"
	rm -rf "$src"
fi
if [ ! -d "$src/.git" ]; then
	say "unpacking $tarball ($pin)"
	rm -rf "$src.tmp" && mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	git -C "$src.tmp" init -q
	git -C "$src.tmp" config user.name "nicfile build"
	git -C "$src.tmp" config user.email "nicfile@localhost"
	git -C "$src.tmp" add -A -f .
	git -C "$src.tmp" commit -q -m "linux-source-6.12 $pin"
	git -C "$src.tmp" tag base
	git -C "$src.tmp" config nicfile.base "$pin"
	mv "$src.tmp" "$src"
fi

# 2. The series.  A tree whose applied series matches kernel/patches/ is left
#    alone, so work committed there and exported is not re-applied.
want=$(series_hash)
if [ "$(git -C "$src" config nicfile.series 2>/dev/null)" != "$want" ]; then
	[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
		die "$src has uncommitted changes: commit them and run kernel/export-patches"
	say "applying kernel/patches ($(ls "$top"/kernel/patches/*.patch 2>/dev/null | wc -l) patches)"
	git -C "$src" checkout -q -B nicfile base
	if ls "$top"/kernel/patches/*.patch >/dev/null 2>&1; then
		git -C "$src" am -q --3way "$top"/kernel/patches/*.patch ||
			{ git -C "$src" am --abort || true; die "a patch in kernel/patches does not apply"; }
	fi
	git -C "$src" config nicfile.series "$want"
fi

# 3. The configuration: tinyconfig + our fragment, verified line by line.
obj=$build/kobj-$( { echo "$pin"; cat "$frag"; } | sha256sum | cut -c1-12)
kmake() { make -s -C "$src" O="$obj" ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }
# Paths under build/ are hashed relative to the object dir, so objects from
# another kobj-* dir hit the cache too.
export CCACHE_BASEDIR=$build
if [ ! -f "$obj/.config.nicfile-ok" ]; then
	say "configuring in $obj"
	# Seed a new object dir from the newest existing one: kbuild then
	# rebuilds only what the changed config symbols touch.
	prev=$(ls -dt "$build"/kobj-* 2>/dev/null | grep -vx "$obj" | head -1 || true)
	if [ ! -d "$obj" ] && [ -n "$prev" ] && [ -f "$prev/.config.nicfile-ok" ]; then
		say "seeding from $prev"
		cp -a "$prev" "$obj.tmp" && rm -f "$obj.tmp/.config.nicfile-ok" && mv "$obj.tmp" "$obj"
	fi
	mkdir -p "$obj"
	kmake tinyconfig >/dev/null
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >/dev/null)
	kmake olddefconfig >/dev/null
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		got=$(grep -E "^$sym=|^# $sym is not set" "$obj/.config" || true)
		[ -n "$got" ] || got="# $sym is not set"
		if [ "$got" != "$line" ]; then
			echo "  wanted '$line', got '$got'" >&2
			bad=1
		fi
	done < "$frag"
	[ $bad = 0 ] || die "kernel/nicfile.config: some symbols did not take (dependencies missing?)"
	touch "$obj/.config.nicfile-ok"
fi

# 4. Build and stage.
say "building bzImage and modules (-j$jobs, ccache)"
kmake -j"$jobs" bzImage modules
rel=$(kmake -s kernelrelease)
rm -rf "$out.new" && mkdir -p "$out.new"
kmake INSTALL_MOD_PATH="$out.new/modules" INSTALL_MOD_STRIP=1 modules_install >/dev/null
cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$out.new/"
echo "$rel" > "$out.new/release"
echo "$key" > "$out.new/key"
rm -rf "$out" && mv "$out.new" "$out"
say "built $rel (key $key) in $out"
