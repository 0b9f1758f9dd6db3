#!/bin/sh
# Installs libmsquic.so.2 (this crate's drop-in for MsQuic 2.7) the way a system MsQuic is laid
# out, so that C and C++ programs find it with -lmsquic, pkg-config or CMake's find_package:
#
#   LIBDIR/libmsquic.so.2.7.0                  the library (SONAME libmsquic.so.2), stripped
#   LIBDIR/.debug/libmsquic.so.2.7.0.debug     its debug information (gdb finds it through the
#                                              library's .gnu_debuglink); not with --no-strip
#   LIBDIR/libmsquic.so.2 -> libmsquic.so.2.7.0
#   LIBDIR/libmsquic.so   -> libmsquic.so.2
#   PREFIX/include/msquic.h                    (and any other header in include/)
#   LIBDIR/pkgconfig/msquic.pc
#   LIBDIR/cmake/msquic/msquicConfig.cmake     imported target `msquic`, alias `msquic::msquic`
#   LIBDIR/cmake/msquic/msquicConfigVersion.cmake
#
# LIBDIR defaults to PREFIX/lib/<multiarch> (e.g. /usr/local/lib/x86_64-linux-gnu), the directory
# Debian's loader, pkg-config and CMake search; PREFIX/lib where no multiarch tuple is known.
# --uninstall removes exactly these files again. Run with --help for the options.

set -eu

# The MsQuic release whose ABI this library reproduces; it names the installed file.
MSQUIC_VERSION=2.7.0
MSQUIC_SOVERSION=2

prog=$(basename "$0")
script_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
repo=$(CDPATH='' cd -- "$script_dir/.." && pwd)

usage() {
    cat <<EOF
Usage: $prog [OPTION]...
Build (unless told not to) and install libmsquic.so.$MSQUIC_SOVERSION with its header, pkg-config
file and CMake package.

  --prefix DIR     installation prefix (default: /usr/local)
  --libdir DIR     library directory; relative to the prefix unless absolute
                   (default: lib/<multiarch>, e.g. lib/x86_64-linux-gnu, else lib)
  --destdir DIR    staging root prepended to every installed path, as DESTDIR is
                   (default: \$DESTDIR, else none); the files still name PREFIX
  --no-build       do not run cargo; install the existing target/release/libmsquic.so
                   (under \$CARGO_TARGET_DIR if set)
  --lib-file PATH  install this libmsquic.so instead of building one (implies --no-build)
  --no-strip       install the library as built, with its debug information, and no
                   separate debug file
  --uninstall      remove what an install with the same --prefix, --libdir and
                   --destdir put there (the library, its links and debug file, the
                   header(s), msquic.pc, the CMake package), then stop
  --no-ldconfig    do not run ldconfig after installing into the live system as root
  -h, --help       show this help

By default the library is built with 'cargo build --release --lib'. To install system-wide,
build as yourself and install as root:
  cargo build --release --lib && sudo $0 --no-build
The installed library is stripped; its debug information goes to
LIBDIR/.debug/libmsquic.so.$MSQUIC_VERSION.debug, where gdb finds it (objcopy is needed).
EOF
}

die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$prog" "$*"
}

# Rejects a path that the generated pkg-config and CMake files could not quote safely.
check_embeddable() {
    case $2 in
        *[[:space:]\"\\\$\;\#]*)
            die "$1 '$2' contains whitespace or one of \" \\ \$ ; # which msquic.pc and the CMake files cannot carry"
            ;;
    esac
}

# Prints PATH with repeated slashes collapsed and any trailing slash removed ("/" stays "/").
tidy_path() {
    printf '%s\n' "$1" | sed -e 's|//*|/|g' -e 's|\(.\)/$|\1|'
}

# Prints the Debian multiarch tuple of the host, or nothing where there is none.
multiarch() {
    tuple=
    if command -v dpkg-architecture >/dev/null 2>&1; then
        tuple=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || tuple=
    fi
    if [ -z "$tuple" ]; then
        for compiler in "${CC:-}" gcc cc; do
            [ -n "$compiler" ] || continue
            command -v "$compiler" >/dev/null 2>&1 || continue
            tuple=$("$compiler" -print-multiarch 2>/dev/null) || tuple=
            if [ -n "$tuple" ]; then
                break
            fi
        done
    fi
    printf '%s\n' "$tuple"
}

# Replaces each @NAME@ given as NAME=VALUE pairs in template $1, writing file $2.
render() {
    template=$1
    output=$2
    shift 2
    [ -f "$template" ] || die "template $template is missing"
    sed_script=
    for pair in "$@"; do
        name=${pair%%=*}
        value=${pair#*=}
        # Escape the characters sed treats specially in a replacement ('|' is the delimiter).
        value=$(printf '%s\n' "$value" | sed -e 's/[\\&|]/\\&/g')
        sed_script="${sed_script}s|@${name}@|${value}|g
"
    done
    sed -e "$sed_script" "$template" >"$output.tmp.$$"
    if grep -n '@[A-Z_][A-Z_]*@' "$output.tmp.$$" >&2; then
        rm -f "$output.tmp.$$"
        die "unreplaced placeholder in $output (from $template)"
    fi
    chmod 0644 "$output.tmp.$$"
    mv -f "$output.tmp.$$" "$output"
}

# Copies $1 to $2 with mode $3 through a temporary file and a rename, so a program that has the
# old file mapped keeps running and no reader ever sees a half-written file.
install_file() {
    cp -- "$1" "$2.tmp.$$"
    chmod "$3" "$2.tmp.$$"
    mv -f -- "$2.tmp.$$" "$2"
}

# Points symlink $2 at $1, replacing whatever is there by a rename so it never goes missing.
install_link() {
    rm -f -- "$2.tmp.$$"
    ln -s -- "$1" "$2.tmp.$$"
    if [ -L "$2" ] && [ -d "$2" ]; then
        rm -f -- "$2" # a link to a directory: mv would move into it
    elif [ -d "$2" ]; then
        die "$2 is a directory"
    fi
    mv -f -- "$2.tmp.$$" "$2"
}

prefix=/usr/local
libdir=
destdir=${DESTDIR:-}
build=yes
lib_file=
run_ldconfig=yes
strip=yes
uninstall=no

while [ $# -gt 0 ]; do
    case $1 in
        --prefix | --libdir | --destdir | --lib-file)
            [ $# -ge 2 ] || die "$1 needs an argument"
            opt=$1
            arg=$2
            shift 2
            ;;
        --prefix=* | --libdir=* | --destdir=* | --lib-file=*)
            opt=${1%%=*}
            arg=${1#*=}
            shift
            ;;
        --no-build)
            build=no
            shift
            continue
            ;;
        --no-ldconfig)
            run_ldconfig=no
            shift
            continue
            ;;
        --no-strip)
            strip=no
            shift
            continue
            ;;
        --uninstall)
            uninstall=yes
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
        --prefix) prefix=$arg ;;
        --libdir) libdir=$arg ;;
        --destdir) destdir=$arg ;;
        --lib-file)
            lib_file=$arg
            build=no
            ;;
    esac
done

# --- Where things go --------------------------------------------------------------------------

case $prefix in
    /*) ;;
    *) die "--prefix must be an absolute path, not '$prefix'" ;;
esac
prefix=$(tidy_path "$prefix")
check_embeddable --prefix "$prefix"

if [ -z "$libdir" ]; then
    tuple=$(multiarch)
    if [ -n "$tuple" ]; then
        libdir=lib/$tuple
    else
        libdir=lib
    fi
fi
libdir=$(tidy_path "$libdir")
case /$libdir/ in
    */./* | */../*) die "--libdir must not contain '.' or '..' components: '$libdir'" ;;
esac
case $libdir in
    /*) ;;
    *) libdir=$(tidy_path "$prefix/$libdir") ;;
esac
check_embeddable --libdir "$libdir"
includedir=$(tidy_path "$prefix/include")

# The library directory relative to the prefix, when it lies under it. The generated files then
# locate everything relative to their own place, so a staged tree works where it is unpacked.
prefix_slash=${prefix%/}/
case $libdir in
    "$prefix_slash"?*) libdir_rel=${libdir#"$prefix_slash"} ;;
    *) libdir_rel= ;;
esac

if [ -n "$destdir" ]; then
    case $destdir in
        /*) ;;
        *) destdir=$(pwd)/$destdir ;;
    esac
    destdir=$(tidy_path "$destdir")
    if [ "$destdir" = / ]; then
        destdir=
    fi
fi

# --- The files -----------------------------------------------------------------------------------

stage_libdir=$destdir$libdir
stage_includedir=$destdir$includedir
stage_pcdir=$stage_libdir/pkgconfig
stage_cmakedir=$stage_libdir/cmake/msquic
stage_debugdir=$stage_libdir/.debug
header_dir=$repo/include
real_name=libmsquic.so.$MSQUIC_VERSION
debug_name=$real_name.debug

# Refreshes the loader's cache when the live system changed as root.
refresh_loader_cache() {
    if [ -z "$destdir" ] && [ "$run_ldconfig" = yes ] && [ "$(id -u)" -eq 0 ]; then
        if command -v ldconfig >/dev/null 2>&1; then
            ldconfig || note "warning: ldconfig failed; run it by hand"
        elif [ -x /sbin/ldconfig ]; then
            /sbin/ldconfig || note "warning: ldconfig failed; run it by hand"
        fi
    fi
}

# Removes file $1 if it is there (a regular file or a symlink), saying so.
remove_file() {
    if [ -L "$1" ] || [ -f "$1" ]; then
        rm -f -- "$1"
        printf '  removed %s\n' "$1"
    elif [ -e "$1" ]; then
        note "warning: $1 is not a file; left in place"
    fi
}

# Removes symlink $1 if it points to $2 (a link to something else is another install's).
remove_link() {
    if [ -L "$1" ]; then
        if [ "$(readlink -- "$1")" = "$2" ]; then
            rm -f -- "$1"
            printf '  removed %s\n' "$1"
        else
            note "warning: $1 points to $(readlink -- "$1"), not $2; left in place"
        fi
    elif [ -e "$1" ]; then
        note "warning: $1 is not a symlink; left in place"
    fi
}

# Removes directory $1 if it exists and is empty.
remove_empty_dir() {
    if [ -d "$1" ] && [ ! -L "$1" ]; then
        rmdir -- "$1" 2>/dev/null || true
    fi
}

if [ "$uninstall" = yes ]; then
    note "uninstalling from ${destdir:+$destdir (staging) }prefix $prefix:"
    remove_file "$stage_libdir/$real_name"
    remove_link "$stage_libdir/libmsquic.so.$MSQUIC_SOVERSION" "$real_name"
    remove_link "$stage_libdir/libmsquic.so" "libmsquic.so.$MSQUIC_SOVERSION"
    remove_file "$stage_debugdir/$debug_name"
    for header in "$header_dir"/*.h; do
        [ -f "$header" ] || continue
        remove_file "$stage_includedir/$(basename "$header")"
    done
    remove_file "$stage_pcdir/msquic.pc"
    remove_file "$stage_cmakedir/msquicConfig.cmake"
    remove_file "$stage_cmakedir/msquicConfigVersion.cmake"
    # The directories only this library uses go when empty; shared ones (LIBDIR, pkgconfig,
    # include) stay.
    remove_empty_dir "$stage_debugdir"
    remove_empty_dir "$stage_cmakedir"
    remove_empty_dir "$stage_libdir/cmake"
    refresh_loader_cache
    exit 0
fi

# --- The library to install ---------------------------------------------------------------------

if [ -n "$lib_file" ]; then
    [ -f "$lib_file" ] || die "--lib-file '$lib_file' is not a file"
    built=$lib_file
else
    target_dir=${CARGO_TARGET_DIR:-$repo/target}
    if [ "$build" = yes ]; then
        command -v cargo >/dev/null 2>&1 ||
            die "cargo is not on PATH; build with 'cargo build --release --lib' and rerun with --no-build"
        note "building: cargo build --release --lib"
        cargo build --release --lib --manifest-path "$repo/Cargo.toml" ||
            die "cargo build failed"
    fi
    built=$target_dir/release/libmsquic.so
    [ -f "$built" ] ||
        die "$built does not exist; run 'cargo build --release --lib' first, or name the library with --lib-file"
fi

# An ELF shared object, and its word size for the CMake version check.
magic=$(od -An -c -N4 "$built" | tr -d ' ')
[ "$magic" = '177ELF' ] || die "$built is not an ELF file"
elf_class=$(od -An -tu1 -j4 -N1 "$built" | tr -d ' ')
case $elf_class in
    1) sizeof_void_p=4 ;;
    2) sizeof_void_p=8 ;;
    *) die "$built has an unknown ELF class '$elf_class'" ;;
esac
if command -v readelf >/dev/null 2>&1; then
    soname=$(LC_ALL=C readelf -d "$built" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
    [ "$soname" = "libmsquic.so.$MSQUIC_SOVERSION" ] ||
        die "$built has SONAME '${soname:-<none>}', expected libmsquic.so.$MSQUIC_SOVERSION"
fi

[ -f "$header_dir/msquic.h" ] || die "$header_dir/msquic.h is missing"

for template in "$repo/cmake/msquic.pc.in" "$repo/cmake/msquicConfig.cmake.in" \
    "$repo/cmake/msquicConfigVersion.cmake.in"; do
    [ -f "$template" ] || die "template $template is missing"
done

# --- Install ------------------------------------------------------------------------------------

if [ "$strip" = yes ]; then
    command -v objcopy >/dev/null 2>&1 ||
        die "objcopy is not on PATH (Debian: apt-get install binutils); install it, or pass --no-strip"
fi

mkdir -p "$stage_libdir" "$stage_includedir" "$stage_pcdir" "$stage_cmakedir"

if [ "$strip" = yes ]; then
    # The debug information goes beside the library, in LIBDIR/.debug, one of the places gdb
    # looks for the file a .gnu_debuglink names; the stripped library names it (with a CRC).
    mkdir -p "$stage_debugdir"
    objcopy --only-keep-debug -- "$built" "$stage_debugdir/$debug_name.tmp.$$" ||
        die "objcopy --only-keep-debug failed on $built"
    chmod 0644 "$stage_debugdir/$debug_name.tmp.$$"
    mv -f -- "$stage_debugdir/$debug_name.tmp.$$" "$stage_debugdir/$debug_name"
    objcopy --strip-unneeded --remove-section=.gnu_debuglink \
        --add-gnu-debuglink="$stage_debugdir/$debug_name" \
        -- "$built" "$stage_libdir/$real_name.tmp.$$" ||
        die "objcopy could not strip $built"
    chmod 0644 "$stage_libdir/$real_name.tmp.$$"
    mv -f -- "$stage_libdir/$real_name.tmp.$$" "$stage_libdir/$real_name"
else
    install_file "$built" "$stage_libdir/$real_name" 0644
    # A debug file from an earlier stripped install no longer matches.
    if [ -f "$stage_debugdir/$debug_name" ]; then
        rm -f -- "$stage_debugdir/$debug_name"
        remove_empty_dir "$stage_debugdir"
    fi
fi
install_link "$real_name" "$stage_libdir/libmsquic.so.$MSQUIC_SOVERSION"
install_link "libmsquic.so.$MSQUIC_SOVERSION" "$stage_libdir/libmsquic.so"

for header in "$header_dir"/*.h; do
    install_file "$header" "$stage_includedir/$(basename "$header")" 0644
done

# msquic.pc names its directories through ${prefix} where it can, as pkg-config files usually do.
if [ -n "$libdir_rel" ]; then
    pc_libdir="\${prefix}/$libdir_rel"
else
    pc_libdir=$libdir
fi
render "$repo/cmake/msquic.pc.in" "$stage_pcdir/msquic.pc" \
    "PREFIX=$prefix" \
    "LIBDIR=$pc_libdir" \
    "INCLUDEDIR=\${prefix}/include" \
    "VERSION=$MSQUIC_VERSION"

# The CMake package finds the prefix from its own location: up from LIBDIR/cmake/msquic by as
# many levels as LIBDIR lies below the prefix. Outside the prefix it names absolute paths.
if [ -n "$libdir_rel" ]; then
    up=
    rest=$libdir_rel/cmake/msquic
    while [ -n "$rest" ]; do
        up=$up/..
        case $rest in
            */*) rest=${rest#*/} ;;
            *) rest= ;;
        esac
    done
    cmake_prefix="\${CMAKE_CURRENT_LIST_DIR}$up"
    cmake_libdir="\${_msquic_prefix}/$libdir_rel"
else
    cmake_prefix=$prefix
    cmake_libdir=$libdir
fi
render "$repo/cmake/msquicConfig.cmake.in" "$stage_cmakedir/msquicConfig.cmake" \
    "PREFIX=$cmake_prefix" \
    "LIBDIR=$cmake_libdir" \
    "INCLUDEDIR=\${_msquic_prefix}/include" \
    "REAL_NAME=$real_name" \
    "SONAME=libmsquic.so.$MSQUIC_SOVERSION" \
    "VERSION=$MSQUIC_VERSION"
render "$repo/cmake/msquicConfigVersion.cmake.in" "$stage_cmakedir/msquicConfigVersion.cmake" \
    "VERSION=$MSQUIC_VERSION" \
    "SIZEOF_VOID_P=$sizeof_void_p"

note "installed into ${destdir:+$destdir (staging) }prefix $prefix:"
if [ "$strip" = yes ]; then
    printf '  %s\n' "$stage_debugdir/$debug_name"
fi
for f in "$stage_libdir/$real_name" "$stage_libdir/libmsquic.so.$MSQUIC_SOVERSION" \
    "$stage_libdir/libmsquic.so" "$stage_includedir/msquic.h" "$stage_pcdir/msquic.pc" \
    "$stage_cmakedir/msquicConfig.cmake" "$stage_cmakedir/msquicConfigVersion.cmake"; do
    printf '  %s\n' "$f"
done

refresh_loader_cache
