#!/bin/sh
# Builds Debian packages of libmsquic.so.2 (this crate's drop-in for MsQuic 2.7), laid out as
# Microsoft's libmsquic packages are, with dpkg-deb and no network:
#
#   libmsquic         /usr/lib/<multiarch>/libmsquic.so.2.7.0 (stripped) and the libmsquic.so.2
#                     link; /usr/share/doc/libmsquic/copyright and changelog.gz
#   libmsquic-dev     /usr/include/msquic.h, the libmsquic.so link, msquic.pc and the CMake
#                     package msquic in /usr/lib/<multiarch>; Depends: libmsquic (= VERSION)
#   libmsquic-dbgsym  the library's debug information, /usr/lib/debug/.build-id/NN/REST.debug,
#                     where gdb finds it
#
# The files are laid out by scripts/install.sh --prefix /usr --destdir. The packages' version is
# this library's own (Cargo.toml's `version`); the MsQuic API version it reproduces (2.7.0)
# names the library file and is stated in the descriptions. Run with --help for the options.

set -eu

MSQUIC_VERSION=2.7.0
MSQUIC_SOVERSION=2

prog=$(basename "$0")
script_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
repo=$(CDPATH='' cd -- "$script_dir/.." && pwd)

usage() {
    cat <<EOF
Usage: $prog [OPTION]...
Build the Debian packages libmsquic, libmsquic-dev and libmsquic-dbgsym from this repository.

  --out DIR          where to write the .deb files (default: target/debian)
  --no-build         do not run cargo; package the existing target/release/libmsquic.so
                     (under \$CARGO_TARGET_DIR if set)
  --lib-file PATH    package this libmsquic.so instead of building one (implies --no-build)
  --compression TYPE dpkg-deb's compression: xz (default), gzip, zstd or none
  --no-dbgsym        do not build libmsquic-dbgsym
  --maintainer TEXT  the Maintainer field (default: \$DEBFULLNAME <\$DEBEMAIL> when both are
                     set, else "The msquic-qmux authors")
  -h, --help         show this help

By default the library is built with 'cargo build --release --lib'. Install the packages with
  sudo apt install ./libmsquic_*.deb ./libmsquic-dev_*.deb
EOF
}

die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$prog" "$*"
}

out=$repo/target/debian
build=yes
lib_file=
compression=xz
dbgsym=yes
maintainer=
if [ -n "${DEBFULLNAME:-}" ] && [ -n "${DEBEMAIL:-}" ]; then
    maintainer="$DEBFULLNAME <$DEBEMAIL>"
fi

while [ $# -gt 0 ]; do
    case $1 in
        --out | --lib-file | --compression | --maintainer)
            [ $# -ge 2 ] || die "$1 needs an argument"
            opt=$1
            arg=$2
            shift 2
            ;;
        --out=* | --lib-file=* | --compression=* | --maintainer=*)
            opt=${1%%=*}
            arg=${1#*=}
            shift
            ;;
        --no-build)
            build=no
            shift
            continue
            ;;
        --no-dbgsym)
            dbgsym=no
            shift
            continue
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown option '$1'"
            ;;
    esac
    [ -n "$arg" ] || die "$opt needs a non-empty argument"
    case $opt in
        --out) out=$arg ;;
        --lib-file)
            lib_file=$arg
            build=no
            ;;
        --compression)
            case $arg in
                xz | gzip | zstd | none) compression=$arg ;;
                *) die "--compression must be xz, gzip, zstd or none, not '$arg'" ;;
            esac
            ;;
        --maintainer) maintainer=$arg ;;
    esac
done
[ -n "$maintainer" ] || maintainer="The msquic-qmux authors"
case $maintainer in
    *"
"*) die "--maintainer must be one line" ;;
esac

for tool in dpkg-deb dpkg objcopy readelf gzip md5sum; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool is not on PATH (on Debian: apt-get install dpkg binutils gzip coreutils)"
done

# --- What to package --------------------------------------------------------------------------

# This library's own version: `version` in Cargo.toml's [package] table.
version=$(awk '
    /^\[/ { in_package = ($0 == "[package]") }
    in_package && /^version[ \t]*=/ {
        sub(/^version[ \t]*=[ \t]*"/, ""); sub(/".*$/, ""); print; exit
    }' "$repo/Cargo.toml")
case $version in
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) die "cannot read the version from $repo/Cargo.toml (found '$version')" ;;
esac
# Debian orders a pre-release (1.0.0-rc.1) before its release when it is written with a '~'.
deb_version=$(printf '%s\n' "$version" | sed -e 's/-/~/')

arch=$(dpkg --print-architecture) || die "dpkg --print-architecture failed"
tuple=
if command -v dpkg-architecture >/dev/null 2>&1; then
    tuple=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || tuple=
fi
if [ -z "$tuple" ]; then
    for compiler in "${CC:-}" gcc cc; do
        [ -n "$compiler" ] || continue
        command -v "$compiler" >/dev/null 2>&1 || continue
        tuple=$("$compiler" -print-multiarch 2>/dev/null) || tuple=
        [ -z "$tuple" ] || break
    done
fi
[ -n "$tuple" ] || die "cannot find the Debian multiarch tuple (install dpkg-dev or gcc)"

if [ -n "$lib_file" ]; then
    [ -f "$lib_file" ] || die "--lib-file '$lib_file' is not a file"
    case $lib_file in
        /*) ;;
        *) lib_file=$(pwd)/$lib_file ;;
    esac
fi

case $out in
    /*) ;;
    *) out=$(pwd)/$out ;;
esac

umask 022
work=$(mktemp -d "${TMPDIR:-/tmp}/msquic-deb.XXXXXX") || die "mktemp failed"
trap 'rm -rf -- "$work"' EXIT
trap 'exit 1' HUP INT TERM

# --- Lay out the files with the install script -------------------------------------------------

root=$work/root
set -- --prefix /usr --libdir "lib/$tuple" --destdir "$root" --no-ldconfig
if [ -n "$lib_file" ]; then
    set -- "$@" --lib-file "$lib_file"
elif [ "$build" = no ]; then
    set -- "$@" --no-build
fi
sh "$script_dir/install.sh" "$@" >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    die "scripts/install.sh failed"
}

libdir=usr/lib/$tuple
real_name=libmsquic.so.$MSQUIC_VERSION
[ -f "$root/$libdir/$real_name" ] || die "install.sh did not install $libdir/$real_name"

# Moves $1 (relative to the staged root) into package tree $2, keeping its path.
take() {
    mkdir -p "$2/$(dirname "$1")"
    mv -- "$root/$1" "$2/$1"
}

runtime=$work/libmsquic
dev=$work/libmsquic-dev
dbg=$work/libmsquic-dbgsym

take "$libdir/$real_name" "$runtime"
take "$libdir/libmsquic.so.$MSQUIC_SOVERSION" "$runtime"

take "$libdir/libmsquic.so" "$dev"
take "$libdir/pkgconfig" "$dev"
take "$libdir/cmake" "$dev"
take usr/include "$dev"

# The debug information: under /usr/lib/debug/.build-id by the library's build id, as Debian's
# dbgsym packages place it (gdb looks there first); without a build id, under /usr/lib/debug by
# the library's path, where gdb finds the file its .gnu_debuglink names.
build_id=$(LC_ALL=C readelf -n "$runtime/$libdir/$real_name" |
    sed -n 's/^[[:space:]]*Build ID:[[:space:]]*\([0-9a-f]*\)[[:space:]]*$/\1/p' | head -n 1)
debug_staged=$libdir/.debug/$real_name.debug
if [ -f "$root/$debug_staged" ]; then
    if [ -n "$build_id" ] && [ ${#build_id} -gt 2 ]; then
        debug_path=usr/lib/debug/.build-id/$(printf '%s' "$build_id" | cut -c1-2)/$(printf '%s' "$build_id" | cut -c3-).debug
    else
        debug_path=usr/lib/debug/$libdir/$real_name.debug
    fi
    mkdir -p "$dbg/$(dirname "$debug_path")"
    mv -- "$root/$debug_staged" "$dbg/$debug_path"
else
    dbgsym=no
fi

# Everything install.sh made is now in a package.
leftover=$(find "$root" ! -type d | head -n 5)
[ -z "$leftover" ] || die "install.sh installed files no package holds: $leftover"

# --- Documentation -----------------------------------------------------------------------------

# Writes the machine-readable copyright file $1.
write_copyright() {
    mkdir -p "$(dirname "$1")"
    {
        printf '%s\n' \
            'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
            'Upstream-Name: msquic-qmux' \
            'Comment: The library statically links the Rust crates named in the source' \
            " repository's Cargo.lock, each under its own licence." \
            '' \
            'Files: *' \
            'Copyright: 2026 The msquic-qmux authors' \
            'License: MIT'
        # The licence text after its title and copyright line, indented, blank lines as " .".
        sed -n '/^Permission is hereby granted/,$p' "$repo/LICENSE" |
            sed -e 's/^$/./' -e 's/^/ /'
    } >"$1"
    chmod 0644 "$1"
}

[ -f "$repo/LICENSE" ] || die "$repo/LICENSE is missing"
[ -f "$repo/CHANGELOG.md" ] || die "$repo/CHANGELOG.md is missing"
for tree in "$runtime" "$dev"; do
    write_copyright "$tree/usr/share/doc/$(basename "$tree")/copyright"
done
gzip -9n -c "$repo/CHANGELOG.md" >"$runtime/usr/share/doc/libmsquic/changelog.gz"
chmod 0644 "$runtime/usr/share/doc/libmsquic/changelog.gz"
if [ "$dbgsym" = yes ]; then
    # As debhelper does for dbgsym packages: the documentation is the library's.
    mkdir -p "$dbg/usr/share/doc"
    ln -s libmsquic "$dbg/usr/share/doc/libmsquic-dbgsym"
fi

# --- Dependencies ------------------------------------------------------------------------------

# The packages of the shared libraries the library needs, from dpkg-shlibdeps when dpkg-dev is
# installed (with minimum versions), else from dpkg -S on the libraries the loader finds.
shlib_depends() {
    lib=$1
    if command -v dpkg-shlibdeps >/dev/null 2>&1; then
        mkdir -p "$work/shlibdeps/debian"
        printf 'Source: msquic-qmux\n\nPackage: libmsquic\nArchitecture: any\n' \
            >"$work/shlibdeps/debian/control"
        deps=$(cd "$work/shlibdeps" && dpkg-shlibdeps -O "$lib" 2>"$work/shlibdeps.log" |
            sed -n 's/^shlibs:Depends=//p') || deps=
        if [ -n "$deps" ]; then
            printf '%s\n' "$deps"
            return
        fi
    fi
    deps=
    for needed in $(LC_ALL=C readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
        path=$(ldconfig -p 2>/dev/null | awk -v n="$needed" '$1 == n { print $NF; exit }')
        [ -n "$path" ] || continue
        pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | sed -e 's/:.*//' -e 's/,.*//') || pkg=
        if [ -z "$pkg" ]; then
            # The loader's path may be a link (/lib -> /usr/lib) that dpkg knows by the other name.
            real=$(readlink -f "$path")
            pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | sed -e 's/:.*//' -e 's/,.*//') || pkg=
        fi
        [ -n "$pkg" ] || continue
        case ", $deps, " in
            *", $pkg, "*) ;;
            *) deps=${deps:+$deps, }$pkg ;;
        esac
    done
    printf '%s\n' "$deps"
}

runtime_depends=$(shlib_depends "$runtime/$libdir/$real_name")

# --- Control files and packages ----------------------------------------------------------------

# Writes DEBIAN/control for package $2 in tree $1 (the fields every package has, then those
# from stdin, then Installed-Size) and DEBIAN/md5sums.
write_control() {
    tree=$1
    size=$(du -sk "$tree" | cut -f1)
    mkdir -p "$tree/DEBIAN"
    {
        printf 'Package: %s\nSource: msquic-qmux\nVersion: %s\nArchitecture: %s\n' \
            "$2" "$deb_version" "$arch"
        printf 'Multi-Arch: same\nMaintainer: %s\n' "$maintainer"
        cat
        printf 'Installed-Size: %s\n' "$size"
    } >"$tree/DEBIAN/control"
    (cd "$tree" && find usr -type f -print | LC_ALL=C sort | xargs -r md5sum) >"$tree/DEBIAN/md5sums"
    chmod 0644 "$tree/DEBIAN/control" "$tree/DEBIAN/md5sums"
    find "$tree" -type d -exec chmod 0755 {} +
}

about=" msquic-qmux is a binary drop-in for Microsoft's libmsquic.so.2: programs written
 for the MsQuic API version $MSQUIC_VERSION run unchanged with it and talk QMux (QUIC v1
 stream frames over TLS 1.3 on TCP) instead of QUIC over UDP."

write_control "$runtime" libmsquic <<EOF
${runtime_depends:+Depends: $runtime_depends
}Section: libs
Priority: optional
Description: MsQuic API $MSQUIC_VERSION over QMux (QUIC streams on TLS/TCP) - library
$about
 .
 This package holds the shared library libmsquic.so.$MSQUIC_SOVERSION (MsQuic API $MSQUIC_VERSION,
 msquic-qmux $version).
EOF

write_control "$dev" libmsquic-dev <<EOF
Depends: libmsquic (= $deb_version)
Section: libdevel
Priority: optional
Description: MsQuic API $MSQUIC_VERSION over QMux (QUIC streams on TLS/TCP) - development files
$about
 .
 This package holds what building against it needs: msquic.h (source-compatible
 with MsQuic $MSQUIC_VERSION's public headers), the libmsquic.so link, the pkg-config
 file msquic.pc and the CMake package msquic (target msquic::msquic).
EOF

# A shared library package tells dpkg-shlibdeps what to depend on, and has the loader's cache
# refreshed when it is installed or removed.
printf 'libmsquic %s libmsquic (>= %s)\n' "$MSQUIC_SOVERSION" "$deb_version" >"$runtime/DEBIAN/shlibs"
printf 'activate-noawait ldconfig\n' >"$runtime/DEBIAN/triggers"
chmod 0644 "$runtime/DEBIAN/shlibs" "$runtime/DEBIAN/triggers"

if [ "$dbgsym" = yes ]; then
    write_control "$dbg" libmsquic-dbgsym <<EOF
Depends: libmsquic (= $deb_version)
Section: debug
Priority: optional
Auto-Built-Package: debug-symbols
${build_id:+Build-Ids: $build_id
}Description: debug symbols for libmsquic (MsQuic API $MSQUIC_VERSION over QMux)
 The debug information of libmsquic.so.$MSQUIC_VERSION from msquic-qmux $version, where gdb
 finds it.
EOF
fi

mkdir -p "$out"
packages="libmsquic libmsquic-dev"
[ "$dbgsym" = no ] || packages="$packages libmsquic-dbgsym"
note "packages of msquic-qmux $version (MsQuic API $MSQUIC_VERSION) for $arch:"
for pkg in $packages; do
    file=$out/${pkg}_${deb_version}_$arch.deb
    dpkg-deb --root-owner-group -Z"$compression" --build "$work/$pkg" "$file" >/dev/null ||
        die "dpkg-deb could not build $pkg"
    printf '  %s\n' "$file"
done
