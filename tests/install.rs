//! Tests `scripts/install.sh`: it installs the library beside this test (the debug build) into
//! fresh directories, and C and C++ programs then find it the ways a system MsQuic is found.
//!
//! For each layout the test checks the installed tree (`libmsquic.so.2.7.0` with the
//! `libmsquic.so.2` and `libmsquic.so` links, the header, `msquic.pc`, the CMake package), builds
//! a C program with the flags `pkg-config --cflags --libs msquic` gives, and builds a C and a C++
//! program with CMake's `find_package(msquic 2.7 REQUIRED)`. Every program calls
//! `MsQuicOpenVersion(2, ..)` and `MsQuicClose`, must exit 0, and reports which `libmsquic` the
//! loader mapped, which must be the installed one.
//!
//! The installed library is stripped (no `.debug_info`, no `.symtab`) and its `.gnu_debuglink`
//! names `LIBDIR/.debug/libmsquic.so.2.7.0.debug`, which exists, holds the debug information
//! and has the CRC the link records; `--no-strip` installs the library as built. Each layout is
//! removed again with `--uninstall`, which must leave none of the installed files.
//!
//! The layouts: the default prefix `/usr/local` staged with `--destdir` (the library in the
//! Debian multiarch directory; pkg-config reads it through `PKG_CONFIG_SYSROOT_DIR`, CMake through
//! `CMAKE_PREFIX_PATH` at the staged prefix, since the package locates itself), a custom prefix
//! with `--libdir lib`, and a library directory outside the prefix.
//!
//! cmake, pkg-config, a C and a C++ compiler, readelf and objcopy must be installed: a missing one fails
//! the test with a message saying so.

#[path = "common/commands.rs"]
mod commands;
mod common;

use commands::{TOOL_TIMEOUT, check, run, sections, try_run};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The MsQuic release whose ABI the library carries; it names the installed file.
const VERSION: &str = "2.7.0";
/// The name of the installed library file.
const REAL_NAME: &str = "libmsquic.so.2.7.0";
/// The library's SONAME.
const SONAME: &str = "libmsquic.so.2";
/// The name of the separate debug information of the stripped library, in `LIBDIR/.debug`.
const DEBUG_NAME: &str = "libmsquic.so.2.7.0.debug";

/// Limit for the install script when handed a built library.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Limit for one compile and link, or one CMake configure or build.
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);
/// Limit for running a consumer program.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// A C program written against MsQuic 2.7 that reports the `libmsquic` it was loaded with.
const CONSUMER_C: &str = r#"/* Opens and closes the MsQuic API table, then names the libmsquic the loader mapped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <link.h>
#include <stdio.h>
#include <string.h>

#include <msquic.h>

static int report(struct dl_phdr_info* info, size_t size, void* data) {
    (void)size;
    (void)data;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libmsquic") != NULL) {
        printf("loaded %s\n", info->dlpi_name);
    }
    return 0;
}

int main(void) {
    const void* table = NULL;
    QUIC_STATUS status = MsQuicOpenVersion(2, &table);
    if (QUIC_FAILED(status) || table == NULL) {
        fprintf(stderr, "MsQuicOpenVersion(2) failed: 0x%x\n", (unsigned)status);
        return 1;
    }
    MsQuicClose(table);
    dl_iterate_phdr(report, NULL);
    printf("c consumer ok\n");
    return 0;
}
"#;

/// The C++17 counterpart of [`CONSUMER_C`].
const CONSUMER_CXX: &str = r#"// Opens and closes the MsQuic API table, then names the libmsquic the loader mapped.
#include <link.h>

#include <cstdio>
#include <cstring>

#include <msquic.h>

int main() {
    const void* table = nullptr;
    const QUIC_STATUS status = MsQuicOpenVersion(2, &table);
    if (QUIC_FAILED(status) || table == nullptr) {
        std::fprintf(stderr, "MsQuicOpenVersion(2) failed: 0x%x\n", static_cast<unsigned>(status));
        return 1;
    }
    MsQuicClose(table);
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void*) -> int {
            if (info->dlpi_name != nullptr && std::strstr(info->dlpi_name, "libmsquic") != nullptr) {
                std::printf("loaded %s\n", info->dlpi_name);
            }
            return 0;
        },
        nullptr);
    std::printf("c++ consumer ok\n");
    return 0;
}
"#;

/// A CMake project as an MsQuic user writes one, with checks on what `find_package` found.
const CONSUMER_CMAKE: &str = r#"cmake_minimum_required(VERSION 3.13)
project(msquic_install_test LANGUAGES C CXX)

# Versions this library is not are refused.
foreach(_wanted IN ITEMS 3 2.8 1.0)
  find_package(msquic ${_wanted} QUIET)
  if(msquic_FOUND)
    message(FATAL_ERROR "find_package(msquic ${_wanted}) accepted version ${msquic_VERSION}")
  endif()
endforeach()
if(NOT CMAKE_VERSION VERSION_LESS 3.19)
  find_package(msquic 2.0...<2.7 QUIET)
  if(msquic_FOUND)
    message(FATAL_ERROR "find_package(msquic 2.0...<2.7) accepted version ${msquic_VERSION}")
  endif()
  find_package(msquic 2.0...<3 REQUIRED)
endif()

find_package(msquic 2.7 REQUIRED)
if(NOT msquic_VERSION STREQUAL "2.7.0")
  message(FATAL_ERROR "msquic_VERSION is '${msquic_VERSION}', expected 2.7.0")
endif()
get_filename_component(_found "${msquic_DIR}" REALPATH)
get_filename_component(_expected "${EXPECTED_MSQUIC_DIR}" REALPATH)
if(NOT _found STREQUAL _expected)
  message(FATAL_ERROR "found the msquic package in ${_found}, expected ${_expected}")
endif()
if(NOT TARGET msquic OR NOT TARGET msquic::msquic)
  message(FATAL_ERROR "the msquic package did not define msquic and msquic::msquic")
endif()
get_target_property(_location msquic IMPORTED_LOCATION)
message(STATUS "msquic library: ${_location}")

add_executable(consumer_c consumer.c)
target_link_libraries(consumer_c PRIVATE msquic)

add_executable(consumer_cxx consumer.cpp)
set_target_properties(consumer_cxx PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
target_link_libraries(consumer_cxx PRIVATE msquic::msquic)
"#;

/// The repository root.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The install script under test.
fn script() -> PathBuf {
    repo().join("scripts/install.sh")
}

/// Fails the test with a clear message unless `tool --version` runs. `package` is the Debian
/// package that provides it.
fn require_tool(tool: &str, package: &str) {
    let ok = try_run(Command::new(tool).arg("--version"), TOOL_TIMEOUT)
        .is_ok_and(|output| output.status.success());
    assert!(
        ok,
        "`{tool}` is not installed or does not run; this test needs it \
         (on Debian: apt-get install -y {package}; .ci/run installs it)"
    );
}

/// The tools every layout uses.
fn require_tools() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        for (tool, package) in [
            ("cmake", "cmake"),
            ("pkg-config", "pkg-config"),
            ("cc", "gcc"),
            ("c++", "g++"),
            ("readelf", "binutils"),
            ("objcopy", "binutils"),
        ] {
            require_tool(tool, package);
        }
    });
}

fn built_library() -> &'static Path {
    common::built_library()
}

/// The Debian multiarch tuple of this machine, found as the install script finds it.
fn multiarch() -> Option<String> {
    let probes: [&[&str]; 3] = [
        &["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
        &["gcc", "-print-multiarch"],
        &["cc", "-print-multiarch"],
    ];
    probes.iter().find_map(|argv| {
        let output = try_run(Command::new(argv[0]).args(&argv[1..]), TOOL_TIMEOUT).ok()?;
        let tuple = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        (output.status.success() && !tuple.is_empty()).then_some(tuple)
    })
}

/// A directory under the target directory's scratch space, emptied now and removed when the
/// test passes (left in place for a look when it fails).
struct Scratch(PathBuf);

impl Scratch {
    /// Creates an empty scratch directory called `name`.
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("install-test")
            .join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .unwrap_or_else(|e| panic!("remove old {}: {e}", dir.display()));
        }
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Scratch(dir)
    }

    /// The directory.
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Where one installation put things, as seen on this machine.
struct Layout {
    /// The library directory on disk (under the staging root when there is one).
    libdir: PathBuf,
    /// The header directory on disk.
    includedir: PathBuf,
    /// The `--prefix` the files name.
    prefix: String,
    /// The library directory as the files name it.
    libdir_named: String,
    /// The staging root, when installed with `--destdir`.
    sysroot: Option<PathBuf>,
    /// The `CMAKE_PREFIX_PATH` under which `find_package(msquic)` finds this installation.
    cmake_prefix: PathBuf,
    /// Whether the library was installed stripped (the default) rather than with `--no-strip`.
    stripped: bool,
}

impl Layout {
    /// The directory holding the CMake package.
    fn cmake_dir(&self) -> PathBuf {
        self.libdir.join("cmake/msquic")
    }

    /// The directory holding `msquic.pc`.
    fn pkgconfig_dir(&self) -> PathBuf {
        self.libdir.join("pkgconfig")
    }

    /// The separate debug information of a stripped library.
    fn debug_file(&self) -> PathBuf {
        self.libdir.join(".debug").join(DEBUG_NAME)
    }
}

/// Runs the install script with `args` and the test's library.
fn install(args: &[&str]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg(script())
        .args(args)
        .arg("--lib-file")
        .arg(built_library())
        .env_remove("DESTDIR");
    check(&mut cmd, INSTALL_TIMEOUT, "scripts/install.sh")
}

/// Reads a file the installation must contain.
fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Checks the installed files of `layout`.
fn check_tree(layout: &Layout) {
    let real = layout.libdir.join(REAL_NAME);
    let meta = std::fs::symlink_metadata(&real)
        .unwrap_or_else(|e| panic!("{} is missing: {e}", real.display()));
    assert!(meta.is_file(), "{} is not a regular file", real.display());
    if layout.stripped {
        check_stripped(&real, &layout.debug_file());
    } else {
        assert!(
            read(&real) == read(built_library()),
            "{} differs from {}",
            real.display(),
            built_library().display()
        );
        assert!(
            !layout.debug_file().exists(),
            "{} was left by an install with --no-strip",
            layout.debug_file().display()
        );
    }

    for (link, target) in [(SONAME, REAL_NAME), ("libmsquic.so", SONAME)] {
        let path = layout.libdir.join(link);
        let points_to = std::fs::read_link(&path)
            .unwrap_or_else(|e| panic!("{} is not a symlink: {e}", path.display()));
        assert_eq!(
            points_to,
            Path::new(target),
            "{} points to the wrong file",
            path.display()
        );
    }

    let dynamic = check(
        Command::new("readelf")
            .arg("-d")
            .arg(layout.libdir.join("libmsquic.so")),
        TOOL_TIMEOUT,
        "readelf -d on the installed library",
    );
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        dynamic.contains(&format!("Library soname: [{SONAME}]")),
        "the installed library's SONAME is not {SONAME}:\n{dynamic}"
    );

    let header = layout.includedir.join("msquic.h");
    assert!(
        read(&header) == read(&repo().join("include/msquic.h")),
        "{} differs from include/msquic.h",
        header.display()
    );

    let pc = String::from_utf8(read(&layout.pkgconfig_dir().join("msquic.pc"))).expect("UTF-8");
    assert!(
        pc.lines().any(|l| l == format!("prefix={}", layout.prefix)),
        "msquic.pc does not say prefix={}:\n{pc}",
        layout.prefix
    );
    assert!(
        pc.lines().any(|l| l == format!("Version: {VERSION}")),
        "msquic.pc does not say Version: {VERSION}:\n{pc}"
    );

    let config =
        String::from_utf8(read(&layout.cmake_dir().join("msquicConfig.cmake"))).expect("UTF-8");
    let version = String::from_utf8(read(&layout.cmake_dir().join("msquicConfigVersion.cmake")))
        .expect("UTF-8");
    assert!(
        version.contains(&format!("set(PACKAGE_VERSION \"{VERSION}\")")),
        "msquicConfigVersion.cmake does not set PACKAGE_VERSION {VERSION}:\n{version}"
    );
    for text in [&pc, &config, &version] {
        assert!(
            !text.contains('@'),
            "an @placeholder@ was left unreplaced:\n{text}"
        );
        if let Some(root) = &layout.sysroot {
            let root = root.to_str().expect("UTF-8 path");
            assert!(
                !text.contains(root),
                "a file names the staging root {root}:\n{text}"
            );
        }
    }
}

/// The CRC-32 (IEEE, as zlib computes it) a `.gnu_debuglink` section records.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Checks that `lib` has no debug information and that its `.gnu_debuglink` names `debug`,
/// an existing file holding the debug information, with the right CRC.
fn check_stripped(lib: &Path, debug: &Path) {
    let names = sections(lib);
    assert!(
        !names.iter().any(|n| n == ".debug_info"),
        "{} is not stripped: it has .debug_info ({names:?})",
        lib.display()
    );
    assert!(
        !names.iter().any(|n| n == ".symtab"),
        "{} still has a .symtab",
        lib.display()
    );
    // The section's bytes, through a file of this test's own (tests run in parallel).
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dump = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("install-test")
        .join(format!("debuglink-{}-{n}", std::process::id()));
    let copy = dump.with_extension("elf");
    check(
        Command::new("objcopy")
            .arg(format!("--dump-section=.gnu_debuglink={}", dump.display()))
            .arg(lib)
            .arg(&copy),
        TOOL_TIMEOUT,
        "objcopy --dump-section=.gnu_debuglink",
    );
    let link = read(&dump);
    std::fs::remove_file(&dump).expect("remove the extracted link");
    std::fs::remove_file(&copy).expect("remove objcopy's copy");
    let nul = link
        .iter()
        .position(|&b| b == 0)
        .unwrap_or_else(|| panic!("{} has no .gnu_debuglink", lib.display()));
    assert_eq!(
        &link[..nul],
        DEBUG_NAME.as_bytes(),
        "{}'s .gnu_debuglink names another file",
        lib.display()
    );
    assert!(link.len() >= 4 && link.len() % 4 == 0, "odd .gnu_debuglink");
    let recorded = u32::from_le_bytes(link[link.len() - 4..].try_into().expect("4 bytes"));
    let debug_bytes = read(debug);
    assert_eq!(
        recorded,
        crc32(&debug_bytes),
        "the CRC in {}'s .gnu_debuglink does not match {}",
        lib.display(),
        debug.display()
    );
    assert!(
        sections(debug).iter().any(|n| n == ".debug_info"),
        "{} holds no .debug_info",
        debug.display()
    );
}

/// Removes the installation with `--uninstall` and the same `args`, and checks that none of
/// the files it made are left under `root`.
fn uninstall_and_check(args: &[&str], layout: &Layout, root: &Path) {
    let mut cmd = Command::new("sh");
    cmd.arg(script())
        .args(args)
        .arg("--uninstall")
        .env_remove("DESTDIR");
    check(&mut cmd, INSTALL_TIMEOUT, "scripts/install.sh --uninstall");
    let mut left = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a directory") {
            let path = entry.expect("a directory entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                dirs.push(path);
            } else if path.starts_with(&layout.libdir) || path.starts_with(&layout.includedir) {
                left.push(path);
            }
        }
    }
    assert!(left.is_empty(), "--uninstall left {left:?}");
    for dir in [layout.cmake_dir(), layout.libdir.join(".debug")] {
        assert!(!dir.exists(), "--uninstall left {}", dir.display());
    }
}

/// Runs a consumer program with the installed library directory on `LD_LIBRARY_PATH`, and
/// checks it succeeds, printed `ok_line`, and was loaded with the installed `libmsquic.so.2`.
fn run_consumer(program: &Path, layout: &Layout, ok_line: &str) {
    let needed = check(
        Command::new("readelf").arg("-d").arg(program),
        TOOL_TIMEOUT,
        "readelf -d on a consumer",
    );
    let needed = String::from_utf8_lossy(&needed.stdout);
    assert!(
        needed.contains(&format!("Shared library: [{SONAME}]")),
        "{} does not record NEEDED {SONAME}:\n{needed}",
        program.display()
    );

    let output = check(
        Command::new(program)
            .env("LD_LIBRARY_PATH", &layout.libdir)
            .env_remove("LD_PRELOAD"),
        RUN_TIMEOUT,
        &format!("running {}", program.display()),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.lines().any(|l| l == ok_line),
        "{} did not print '{ok_line}':\n{stdout}",
        program.display()
    );
    let loaded: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("loaded "))
        .collect();
    let expected = layout.libdir.join(SONAME);
    let expected_real = expected.canonicalize().expect("canonical library path");
    assert!(
        loaded.len() == 1
            && Path::new(loaded[0]).file_name() == Some(SONAME.as_ref())
            && Path::new(loaded[0]).canonicalize().ok() == Some(expected_real),
        "{} loaded {loaded:?}, expected exactly {}",
        program.display(),
        expected.display()
    );
}

/// Builds and runs a C program with the flags pkg-config gives for `msquic`.
fn check_pkg_config(layout: &Layout, work: &Path) {
    let pkg_config = |args: &[&str]| {
        let mut cmd = Command::new("pkg-config");
        cmd.args(args)
            .env("PKG_CONFIG_PATH", layout.pkgconfig_dir())
            .env_remove("PKG_CONFIG_LIBDIR");
        match &layout.sysroot {
            Some(root) => cmd.env("PKG_CONFIG_SYSROOT_DIR", root),
            None => cmd.env_remove("PKG_CONFIG_SYSROOT_DIR"),
        };
        let output = check(&mut cmd, TOOL_TIMEOUT, &format!("pkg-config {args:?}"));
        String::from_utf8(output.stdout)
            .expect("UTF-8")
            .trim()
            .to_owned()
    };

    let found = pkg_config(&["--variable=pcfiledir", "msquic"]);
    assert_eq!(
        Path::new(&found),
        layout.pkgconfig_dir(),
        "pkg-config read another msquic.pc"
    );
    assert_eq!(pkg_config(&["--modversion", "msquic"]), VERSION);
    let named_libdir = pkg_config(&["--variable=libdir", "msquic"]);
    let expected_libdir = match &layout.sysroot {
        Some(root) => format!("{}{}", root.display(), layout.libdir_named),
        None => layout.libdir_named.clone(),
    };
    assert_eq!(named_libdir, expected_libdir, "msquic.pc's libdir");

    let flags = pkg_config(&["--cflags", "--libs", "msquic"]);
    let source = work.join("pkg_consumer.c");
    std::fs::write(&source, CONSUMER_C).expect("write the C consumer");
    let program = work.join("pkg_consumer");
    check(
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-o"])
            .arg(&program)
            .arg(&source)
            .args(flags.split_whitespace()),
        BUILD_TIMEOUT,
        &format!("compiling a C program with `{flags}`"),
    );
    run_consumer(&program, layout, "c consumer ok");
}

/// Builds a C and a C++ program with CMake's `find_package(msquic 2.7 REQUIRED)` and runs both.
fn check_cmake(layout: &Layout, work: &Path) {
    let source = work.join("cmake-project");
    let build = work.join("cmake-build");
    std::fs::create_dir_all(&source).expect("create the CMake project");
    std::fs::write(source.join("CMakeLists.txt"), CONSUMER_CMAKE).expect("write CMakeLists.txt");
    std::fs::write(source.join("consumer.c"), CONSUMER_C).expect("write consumer.c");
    std::fs::write(source.join("consumer.cpp"), CONSUMER_CXX).expect("write consumer.cpp");

    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(&source)
        .arg("-B")
        .arg(&build)
        .arg(format!(
            "-DCMAKE_PREFIX_PATH={}",
            layout.cmake_prefix.display()
        ))
        .arg(format!(
            "-DEXPECTED_MSQUIC_DIR={}",
            layout.cmake_dir().display()
        ))
        .arg("-DCMAKE_BUILD_TYPE=Release")
        .env_remove("CMAKE_PREFIX_PATH")
        .env_remove("msquic_DIR")
        .env_remove("msquic_ROOT");
    check(&mut configure, BUILD_TIMEOUT, "configuring a CMake project");
    check(
        Command::new("cmake").arg("--build").arg(&build),
        BUILD_TIMEOUT,
        "building a CMake project",
    );
    run_consumer(&build.join("consumer_c"), layout, "c consumer ok");
    run_consumer(&build.join("consumer_cxx"), layout, "c++ consumer ok");
}

/// The default prefix, staged with `--destdir`: the library lands in the multiarch directory
/// under `/usr/local`, and installing twice over the same tree works.
#[test]
fn default_prefix_staged_with_destdir() {
    require_tools();
    let scratch = Scratch::new("default-prefix");
    let stage = scratch.path().join("stage");
    let stage_arg = stage.to_str().expect("UTF-8 path");
    install(&["--destdir", stage_arg]);
    install(&["--destdir", stage_arg]);

    let libdir_named = match multiarch() {
        Some(tuple) => format!("/usr/local/lib/{tuple}"),
        None => "/usr/local/lib".to_owned(),
    };
    let layout = Layout {
        libdir: stage.join(libdir_named.trim_start_matches('/')),
        includedir: stage.join("usr/local/include"),
        prefix: "/usr/local".to_owned(),
        libdir_named,
        sysroot: Some(stage.clone()),
        cmake_prefix: stage.join("usr/local"),
        stripped: true,
    };
    check_tree(&layout);
    check_pkg_config(&layout, scratch.path());
    check_cmake(&layout, scratch.path());
    uninstall_and_check(&["--destdir", stage_arg], &layout, &stage);
}

/// A prefix of the user's own with `--libdir lib`, installed in place (no staging root),
/// first stripped and then over it with `--no-strip`, which installs the library as built and
/// removes the debug file the first install left.
#[test]
fn custom_prefix_and_relative_libdir() {
    require_tools();
    let scratch = Scratch::new("custom-prefix");
    let prefix = scratch.path().join("opt/msquic");
    let prefix_arg = prefix.to_str().expect("UTF-8 path");
    let args = ["--prefix", prefix_arg, "--libdir", "lib", "--no-ldconfig"];
    install(&args);
    assert!(prefix.join("lib/.debug").join(DEBUG_NAME).is_file());
    install(&[&args[..], &["--no-strip"]].concat());

    let layout = Layout {
        libdir: prefix.join("lib"),
        includedir: prefix.join("include"),
        prefix: prefix_arg.to_owned(),
        libdir_named: format!("{prefix_arg}/lib"),
        sysroot: None,
        cmake_prefix: prefix.clone(),
        stripped: false,
    };
    check_tree(&layout);
    check_pkg_config(&layout, scratch.path());
    check_cmake(&layout, scratch.path());
    uninstall_and_check(&args, &layout, scratch.path());
}

/// A library directory outside the prefix: the files name it by its absolute path, and CMake
/// finds the package through the library directory's parent.
#[test]
fn libdir_outside_prefix() {
    require_tools();
    let scratch = Scratch::new("outside-prefix");
    let prefix = scratch.path().join("prefix");
    let libdir = scratch.path().join("elsewhere/lib");
    let prefix_arg = prefix.to_str().expect("UTF-8 path");
    let libdir_arg = libdir.to_str().expect("UTF-8 path");
    let args = [
        "--prefix",
        prefix_arg,
        "--libdir",
        libdir_arg,
        "--no-ldconfig",
    ];
    install(&args);

    let layout = Layout {
        libdir: libdir.clone(),
        includedir: prefix.join("include"),
        prefix: prefix_arg.to_owned(),
        libdir_named: libdir_arg.to_owned(),
        sysroot: None,
        cmake_prefix: scratch.path().join("elsewhere"),
        stripped: true,
    };
    check_tree(&layout);
    check_pkg_config(&layout, scratch.path());
    check_cmake(&layout, scratch.path());
    uninstall_and_check(&args, &layout, scratch.path());
}

/// `--uninstall` removes only what the install made: a `libmsquic.so.2` link that another
/// install repointed and files of other packages beside ours stay, and uninstalling twice is
/// harmless.
#[test]
fn uninstall_keeps_what_is_not_its_own() {
    require_tools();
    let scratch = Scratch::new("uninstall-others");
    let stage = scratch.path().join("stage");
    let stage_arg = stage.to_str().expect("UTF-8 path");
    let args = ["--destdir", stage_arg, "--libdir", "lib"];
    install(&args);
    let libdir = stage.join("usr/local/lib");
    let soname_link = libdir.join(SONAME);
    std::fs::remove_file(&soname_link).expect("remove the SONAME link");
    std::os::unix::fs::symlink("libmsquic.so.2.5.1", &soname_link).expect("repoint it");
    let other_pc = libdir.join("pkgconfig/other.pc");
    std::fs::write(&other_pc, "Name: other\n").expect("write another package's file");

    for _ in 0..2 {
        let mut cmd = Command::new("sh");
        cmd.arg(script())
            .args(args)
            .arg("--uninstall")
            .env_remove("DESTDIR");
        check(&mut cmd, INSTALL_TIMEOUT, "scripts/install.sh --uninstall");
    }
    assert_eq!(
        std::fs::read_link(&soname_link).expect("the repointed link stays"),
        Path::new("libmsquic.so.2.5.1")
    );
    assert!(other_pc.is_file(), "another package's file was removed");
    for gone in [
        libdir.join(REAL_NAME),
        libdir.join("libmsquic.so"),
        libdir.join(".debug"),
        libdir.join("cmake"),
        libdir.join("pkgconfig/msquic.pc"),
        stage.join("usr/local/include/msquic.h"),
    ] {
        assert!(
            std::fs::symlink_metadata(&gone).is_err(),
            "{} is left",
            gone.display()
        );
    }
}

/// Bad arguments stop the script with a message, before it installs anything.
#[test]
fn rejects_bad_arguments() {
    let scratch = Scratch::new("bad-arguments");
    let stage = scratch.path().join("stage");
    let stage_arg = stage.to_str().expect("UTF-8 path");
    let missing = scratch.path().join("no-such-libmsquic.so");
    let missing_arg = missing.to_str().expect("UTF-8 path");
    let cases: [(&[&str], &str); 5] = [
        (&["--frobnicate"], "unknown option"),
        (&["--prefix", "relative/dir"], "absolute"),
        (&["--libdir", "../lib"], "'..'"),
        (&["--prefix", "/opt/with space"], "whitespace"),
        (&["--lib-file", missing_arg], "not a file"),
    ];
    for (args, message) in cases {
        let mut cmd = Command::new("sh");
        cmd.arg(script())
            .args(["--destdir", stage_arg, "--no-build"])
            .args(args);
        let desc = format!("{cmd:?}");
        let output = run(&mut cmd, INSTALL_TIMEOUT);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(message),
            "{desc} should fail saying '{message}', but exited {} with:\n{stderr}",
            output.status
        );
        assert!(!stage.exists(), "{desc} installed files before failing");
    }
}

/// The command helper kills a command that outlives its deadline, together with what it started,
/// and fails the test.
#[test]
#[should_panic(expected = "timed out after")]
fn commands_are_killed_at_their_deadline() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "sleep 60 & sleep 60"]);
    run(&mut cmd, Duration::from_millis(200));
}

/// A missing tool fails the test with a message naming it, rather than skipping.
#[test]
#[should_panic(expected = "`msquic-no-such-tool` is not installed")]
fn a_missing_tool_fails_the_test() {
    require_tool("msquic-no-such-tool", "msquic-no-such-package");
}
