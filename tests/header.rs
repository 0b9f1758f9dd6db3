//! `include/msquic.h` must be exactly what cbindgen generates from `src/api/abi` with
//! `cbindgen.toml`. Regenerate it with `UPDATE_HEADER=1 cargo test --test header`.

use std::path::{Path, PathBuf};

const REGENERATE: &str = "UPDATE_HEADER=1 cargo test --test header";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    root().join("include").join("msquic.h")
}

/// cbindgen 0.29 prints the `;` of a `#[cfg]`-gated struct field after the closing `#endif`
/// (cbindgen issue #634), which leaves a stray `;` in the struct when the condition is false.
/// Put it back before the `#endif`.
fn fix_gated_field_semicolons(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "#endif" {
            if let Some(next) = lines.peek() {
                if !next.is_empty() && next.trim() == ";" {
                    if let Some(prev) = out.last_mut() {
                        prev.push(';');
                    }
                    out.push(line.to_owned());
                    lines.next();
                    continue;
                }
            }
        }
        out.push(line.to_owned());
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// Runs cbindgen on the ABI module with the repository's configuration.
fn generate() -> String {
    let config = cbindgen::Config::from_file(root().join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cannot read cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root().join("src").join("api").join("abi").join("mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    let mut bytes = Vec::new();
    bindings.write(&mut bytes);
    let text = String::from_utf8(bytes).expect("cbindgen writes UTF-8");
    fix_gated_field_semicolons(&text)
}

#[test]
fn header_matches_generated() {
    let generated = generate();
    let path = header_path();
    if std::env::var_os("UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("include dir")).expect("create include/");
        std::fs::write(&path, &generated).expect("write include/msquic.h");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/msquic.h is out of date (first difference at line {}).\n\
             Regenerate it with: {REGENERATE}",
            first_difference + 1
        );
    }
}

#[test]
fn gated_field_fix_moves_semicolon() {
    let input = "struct X {\n  int a;\n#if defined(P)\n  int b\n#endif\n  ;\n  int c;\n};\n";
    let want = "struct X {\n  int a;\n#if defined(P)\n  int b;\n#endif\n  int c;\n};\n";
    assert_eq!(fix_gated_field_semicolons(input), want);
}
