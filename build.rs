//! Links `libmsquic.so` as Microsoft's is linked: SONAME `libmsquic.so.2` and a version script
//! with the node `msquic` exporting only `MsQuicOpenVersion` and `MsQuicClose`. Also records
//! the git commit for `QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let script = out.join("msquic.map");
    std::fs::write(
        &script,
        "msquic {\n  global:\n    MsQuicOpenVersion;\n    MsQuicClose;\n  local:\n    *;\n};\n",
    )
    .expect("write version script");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmsquic.so.2");
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
            script.display()
        );
    }

    let hash = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| "0".repeat(40));
    println!("cargo:rustc-env=MSQUIC_QMUX_GIT_HASH={hash}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    println!("cargo::rustc-check-cfg=cfg(msquic_preview)");
    println!("cargo:rustc-cfg=msquic_preview");
}
