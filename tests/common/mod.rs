//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `libmsquic.so` built for this test run.
///
/// `cargo test` builds the library's cdylib into `target/<profile>/deps` beside the test
/// executables; that copy is used. If it is missing (a test binary run on its own), the library
/// is built with `cargo build --lib` and taken from `target/<profile>`.
pub fn built_library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let exe = std::env::current_exe().expect("path of the test executable");
        let deps = exe
            .parent()
            .expect("the test executable is in target/<profile>/deps");
        let fresh = deps.join("libmsquic.so");
        if fresh.is_file() {
            return fresh;
        }
        let profile_dir = deps.parent().expect("target/<profile>");
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--lib"]);
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some("release") => {
                cargo.arg("--release");
            }
            Some(profile) => {
                cargo.args(["--profile", profile]);
            }
        }
        let status = cargo.status().expect("run cargo build --lib");
        assert!(status.success(), "cargo build --lib failed");
        let lib = profile_dir.join("libmsquic.so");
        assert!(
            lib.is_file(),
            "`cargo build --lib` did not produce {}",
            lib.display()
        );
        lib
    })
}
