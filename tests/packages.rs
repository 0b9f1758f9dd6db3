//! Tests `scripts/deb.sh`: it builds the Debian packages `libmsquic`, `libmsquic-dev` and
//! `libmsquic-dbgsym` from the library beside this test (the debug build, so no release build
//! is needed), and the test checks them as a user would meet them.
//!
//! - The control fields (`dpkg-deb -f`): names, the library's own version (Cargo's `version`),
//!   the host architecture, `libmsquic-dev` and `libmsquic-dbgsym` depending on exactly that
//!   `libmsquic`, the MsQuic API version 2.7.0 in the descriptions.
//! - The file lists (`dpkg-deb -c`): exactly the expected files and links, owned by root.
//! - Extracted into a scratch root (`dpkg-deb -x`): the library is stripped and its build id
//!   names the debug file of `libmsquic-dbgsym`, which holds the debug information; the header
//!   is the repository's; the changelog is CHANGELOG.md. A C program built with the flags
//!   `pkg-config` gives for `msquic` in that root opens the API table and a registration, reads
//!   `QUIC_PARAM_GLOBAL_LIBRARY_VERSION` (2.7.0) and `QUIC_PARAM_GLOBAL_QMUX_VERSION` (the
//!   package version), and was loaded with the extracted library.
//!
//! Without dpkg-deb (not a Debian system) the test is skipped with a message saying so; cc,
//! pkg-config, readelf and gzip must be installed.

#[path = "common/commands.rs"]
mod commands;
mod common;

use commands::{TOOL_TIMEOUT, check, sections, try_run};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The MsQuic API version the library reproduces.
const MSQUIC_VERSION: &str = "2.7.0";
/// The library's own version, which the packages carry.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Limit for building the packages from an already built library.
const BUILD_TIMEOUT: Duration = Duration::from_secs(120);

/// An MsQuic program that reports the versions it reads and the libmsquic it was loaded with.
const PROGRAM: &str = r#"/* Opens the API and a registration, and prints both version parameters. */
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
    const QUIC_API_TABLE* api = NULL;
    QUIC_STATUS status = MsQuicOpen2(&api);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "MsQuicOpen2 failed: 0x%x\n", (unsigned)status);
        return 1;
    }
    const QUIC_REGISTRATION_CONFIG config = {"packages", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    HQUIC registration = NULL;
    status = api->RegistrationOpen(&config, &registration);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "RegistrationOpen failed: 0x%x\n", (unsigned)status);
        return 1;
    }
    uint32_t version[4] = {0};
    uint32_t length = sizeof(version);
    status = api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &length, version);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "GetParam(LIBRARY_VERSION) failed: 0x%x\n", (unsigned)status);
        return 1;
    }
    printf("msquic %u.%u.%u\n", version[0], version[1], version[2]);
    char own[64] = {0};
    length = sizeof(own);
    status = api->GetParam(NULL, QUIC_PARAM_GLOBAL_QMUX_VERSION, &length, own);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "GetParam(QMUX_VERSION) failed: 0x%x\n", (unsigned)status);
        return 1;
    }
    printf("qmux %s\n", own);
    api->RegistrationClose(registration);
    MsQuicClose(api);
    dl_iterate_phdr(report, NULL);
    printf("ok\n");
    return 0;
}
"#;

/// The repository root.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The standard output of a command that must succeed, trimmed.
fn stdout_of(cmd: &mut Command, what: &str) -> String {
    let output = check(cmd, TOOL_TIMEOUT, what);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Whether `tool --version` runs.
fn have(tool: &str) -> bool {
    try_run(Command::new(tool).arg("--version"), TOOL_TIMEOUT)
        .is_ok_and(|output| output.status.success())
}

/// A scratch directory, emptied now and removed when the test passes.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove an old scratch directory");
        }
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A control field of a package.
fn field(deb: &Path, name: &str) -> String {
    stdout_of(
        Command::new("dpkg-deb").arg("-f").arg(deb).arg(name),
        &format!("dpkg-deb -f {name}"),
    )
}

/// The entries of a package other than directories, as `path` or `path -> target`, after
/// checking that every entry is owned by root.
fn contents(deb: &Path) -> BTreeSet<String> {
    let listing = stdout_of(Command::new("dpkg-deb").arg("-c").arg(deb), "dpkg-deb -c");
    let mut entries = BTreeSet::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(fields.len() >= 6, "odd dpkg-deb -c line: {line}");
        assert_eq!(fields[1], "root/root", "not owned by root: {line}");
        if fields[0].starts_with('d') {
            continue;
        }
        let name = fields[5..].join(" ");
        entries.insert(name.trim_start_matches("./").to_owned());
    }
    entries
}

#[test]
fn debian_packages() {
    if !have("dpkg-deb") {
        eprintln!(
            "SKIPPED: dpkg-deb is not installed, so scripts/deb.sh cannot build packages here \
             (on Debian it comes with dpkg)"
        );
        return;
    }
    for (tool, package) in [
        ("cc", "gcc"),
        ("pkg-config", "pkg-config"),
        ("readelf", "binutils"),
        ("objcopy", "binutils"),
        ("gzip", "gzip"),
    ] {
        assert!(
            have(tool),
            "`{tool}` is not installed; this test needs it (on Debian: apt-get install -y \
             {package}; .ci/run installs it)"
        );
    }
    let scratch = Scratch::new("packages-test");
    let out = scratch.0.join("out");
    check(
        Command::new("sh")
            .arg(repo().join("scripts/deb.sh"))
            .arg("--lib-file")
            .arg(common::built_library())
            .arg("--out")
            .arg(&out)
            .args(["--compression", "none"])
            .env_remove("DEBFULLNAME")
            .env_remove("DEBEMAIL"),
        BUILD_TIMEOUT,
        "scripts/deb.sh",
    );

    let arch = stdout_of(
        Command::new("dpkg").arg("--print-architecture"),
        "dpkg --print-architecture",
    );
    let deb = |name: &str| out.join(format!("{name}_{VERSION}_{arch}.deb"));
    let (runtime, dev, dbgsym) = (
        deb("libmsquic"),
        deb("libmsquic-dev"),
        deb("libmsquic-dbgsym"),
    );

    // Control fields.
    for (path, name, section) in [
        (&runtime, "libmsquic", "libs"),
        (&dev, "libmsquic-dev", "libdevel"),
        (&dbgsym, "libmsquic-dbgsym", "debug"),
    ] {
        assert!(path.is_file(), "{} was not built", path.display());
        assert_eq!(field(path, "Package"), name);
        assert_eq!(field(path, "Version"), VERSION, "{name}'s version");
        assert_eq!(field(path, "Architecture"), arch, "{name}'s architecture");
        assert_eq!(field(path, "Section"), section, "{name}'s section");
        assert_eq!(field(path, "Multi-Arch"), "same", "{name}'s Multi-Arch");
        assert!(
            field(path, "Description").contains(&format!("MsQuic API {MSQUIC_VERSION}")),
            "{name}'s description does not name the MsQuic API version"
        );
        assert!(
            !field(path, "Maintainer").is_empty(),
            "{name} has no Maintainer"
        );
    }
    for path in [&dev, &dbgsym] {
        assert_eq!(
            field(path, "Depends"),
            format!("libmsquic (= {VERSION})"),
            "{} must depend on exactly this libmsquic",
            path.display()
        );
    }
    let runtime_depends = field(&runtime, "Depends");
    assert!(
        runtime_depends.contains("libc6"),
        "libmsquic does not depend on libc6: '{runtime_depends}'"
    );

    // File lists.
    let tuple = {
        let listed = contents(&runtime);
        let lib = listed
            .iter()
            .find(|p| p.ends_with("/libmsquic.so.2.7.0"))
            .expect("libmsquic holds libmsquic.so.2.7.0")
            .clone();
        lib.trim_start_matches("usr/lib/")
            .trim_end_matches("/libmsquic.so.2.7.0")
            .to_owned()
    };
    assert!(
        !tuple.is_empty() && !tuple.contains('/'),
        "the library is not in a multiarch directory /usr/lib/<tuple>: usr/lib/{tuple}"
    );
    let libdir = format!("usr/lib/{tuple}");
    let expect = |items: &[String]| items.iter().cloned().collect::<BTreeSet<String>>();
    assert_eq!(
        contents(&runtime),
        expect(&[
            format!("{libdir}/libmsquic.so.2.7.0"),
            format!("{libdir}/libmsquic.so.2 -> libmsquic.so.2.7.0"),
            "usr/share/doc/libmsquic/changelog.gz".to_owned(),
            "usr/share/doc/libmsquic/copyright".to_owned(),
        ]),
        "libmsquic's files"
    );
    assert_eq!(
        contents(&dev),
        expect(&[
            "usr/include/msquic.h".to_owned(),
            format!("{libdir}/libmsquic.so -> libmsquic.so.2"),
            format!("{libdir}/pkgconfig/msquic.pc"),
            format!("{libdir}/cmake/msquic/msquicConfig.cmake"),
            format!("{libdir}/cmake/msquic/msquicConfigVersion.cmake"),
            "usr/share/doc/libmsquic-dev/copyright".to_owned(),
        ]),
        "libmsquic-dev's files"
    );

    // Extract all three into one root.
    let root = scratch.0.join("root");
    for path in [&runtime, &dev, &dbgsym] {
        check(
            Command::new("dpkg-deb").arg("-x").arg(path).arg(&root),
            TOOL_TIMEOUT,
            "dpkg-deb -x",
        );
    }
    let lib = root.join(&libdir).join("libmsquic.so.2.7.0");
    assert!(
        !sections(&lib).iter().any(|s| s == ".debug_info"),
        "the packaged library is not stripped"
    );
    let notes = stdout_of(Command::new("readelf").arg("-n").arg(&lib), "readelf -n");
    let build_id = notes
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .expect("the library has a build id")
        .trim()
        .to_owned();
    let debug_file = format!(
        "usr/lib/debug/.build-id/{}/{}.debug",
        &build_id[..2],
        &build_id[2..]
    );
    assert_eq!(
        contents(&dbgsym),
        expect(&[
            debug_file.clone(),
            "usr/share/doc/libmsquic-dbgsym -> libmsquic".to_owned(),
        ]),
        "libmsquic-dbgsym's files"
    );
    assert_eq!(field(&dbgsym, "Build-Ids"), build_id);
    assert!(
        sections(&root.join(&debug_file))
            .iter()
            .any(|s| s == ".debug_info"),
        "the debug file holds no debug information"
    );
    assert!(
        std::fs::read(root.join("usr/include/msquic.h")).expect("read the packaged header")
            == std::fs::read(repo().join("include/msquic.h")).expect("read include/msquic.h"),
        "the packaged msquic.h differs from include/msquic.h"
    );
    let changelog = check(
        Command::new("gzip")
            .arg("-dc")
            .arg(root.join("usr/share/doc/libmsquic/changelog.gz")),
        TOOL_TIMEOUT,
        "gzip -dc changelog.gz",
    );
    assert!(
        changelog.stdout == std::fs::read(repo().join("CHANGELOG.md")).expect("read CHANGELOG.md"),
        "changelog.gz is not CHANGELOG.md"
    );
    let copyright = std::fs::read_to_string(root.join("usr/share/doc/libmsquic/copyright"))
        .expect("read the copyright file");
    assert!(
        copyright.contains("License: MIT") && copyright.contains("The msquic-qmux authors"),
        "odd copyright file:\n{copyright}"
    );

    // Build and run an MsQuic program against the extracted files.
    let pkgconfig_dir = root.join(&libdir).join("pkgconfig");
    let flags = stdout_of(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "msquic"])
            .env("PKG_CONFIG_PATH", &pkgconfig_dir)
            .env("PKG_CONFIG_SYSROOT_DIR", &root)
            .env("PKG_CONFIG_ALLOW_SYSTEM_CFLAGS", "1")
            .env("PKG_CONFIG_ALLOW_SYSTEM_LIBS", "1")
            .env_remove("PKG_CONFIG_LIBDIR"),
        "pkg-config --cflags --libs msquic",
    );
    let source = scratch.0.join("program.c");
    let program = scratch.0.join("program");
    std::fs::write(&source, PROGRAM).expect("write the program");
    check(
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&program)
            .arg(&source)
            .args(flags.split_whitespace()),
        TOOL_TIMEOUT,
        &format!("compiling an MsQuic program with `{flags}`"),
    );
    let output = check(
        Command::new(&program)
            .env("LD_LIBRARY_PATH", root.join(&libdir))
            .env_remove("LD_PRELOAD"),
        TOOL_TIMEOUT,
        "running the MsQuic program",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&format!("msquic {MSQUIC_VERSION}").as_str())
            && lines.contains(&format!("qmux {VERSION}").as_str())
            && lines.contains(&"ok"),
        "unexpected output:\n{stdout}"
    );
    let loaded: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("loaded "))
        .collect();
    let expected = lib.canonicalize().expect("canonical library path");
    assert!(
        loaded.len() == 1 && Path::new(loaded[0]).canonicalize().ok() == Some(expected),
        "the program loaded {loaded:?}, not the packaged library"
    );
}
