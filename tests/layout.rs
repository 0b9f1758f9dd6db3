//! The source layout's import rules, checked on the code itself (comments are ignored):
//!
//! - the layers: `src/proto` uses neither `runtime` nor `api`, `src/runtime` does not use `api`;
//! - inside `src/api`, the rooms (one per MsQuic object, plus the door every C call comes
//!   through) import one way, lowest first:
//!   abi, door (base), param (base), settings, global, registration, configuration, stream,
//!   connection, listener. A room may reach a later room only through that room's `link`
//!   module, the one named interface for the calls that must go back up. The table, the entry
//!   points, the library's open and close, the parameter router and the crate's own tests may
//!   use anything.
//! - code leaves its room only by an absolute `crate::api::<room>` path, never by `super::`.

use std::fs;
use std::path::{Path, PathBuf};

/// The rooms of `src/api`, lowest first.
const ROOMS: &[&str] = &[
    "abi",
    "door",
    "param",
    "settings",
    "global",
    "registration",
    "configuration",
    "stream",
    "connection",
    "listener",
];

/// Files of `door` and `param` that sit at the bottom (everything may use them).
const DOOR_BASE: &[&str] = &[
    "boundary",
    "status_names",
    "handle",
    "callbacks",
    "event_log",
    "context",
];
const PARAM_BASE: &[&str] = &["buffer", "known", "versions"];
/// Files of `door` and `param` at the top (they may use everything). A file of these two
/// rooms in neither list is one the layout does not place, and fails the test.
const DOOR_TOP: &[&str] = &["mod", "table", "entry", "library"];
const PARAM_TOP: &[&str] = &["mod"];

/// Rank of the top: the table, the entry points, the library's open and close, the parameter
/// router, tests.
const TOP: usize = usize::MAX;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without `//` comments (string literals holding `//` are rare enough in this
/// crate that a line's first `//` outside a string ends its code).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = '\0';
        let mut cut = line.len();
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            }
            if !in_str && c == '/' && prev == '/' {
                cut = i - 1;
                break;
            }
            prev = c;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

/// The rank of a room and file (the file's first name after the room, if any; a path that
/// names the room alone counts as `mod`, and so does a `target` path naming an item of its
/// `mod.rs`), or None for a room or file the layout does not place.
fn rank(room: &str, file: Option<&str>, target: bool) -> Option<usize> {
    let i = ROOMS.iter().position(|r| *r == room)?;
    let (base, top) = match room {
        "door" => (DOOR_BASE, DOOR_TOP),
        "param" => (PARAM_BASE, PARAM_TOP),
        _ => return Some(i),
    };
    let file = file.unwrap_or("mod");
    if base.contains(&file) {
        Some(i)
    } else if top.contains(&file) || target {
        // A top file, or (in a path) an item of the room's `mod.rs`.
        Some(TOP)
    } else {
        None
    }
}

/// Every `crate::api::...` path in `code`, as its names; a group (`crate::api::{a, b::c}`,
/// `crate::api::door::{boundary, handle}`) gives one path per item, each item's names up to
/// any nested group.
fn api_paths(code: &str) -> Vec<Vec<String>> {
    let names = |s: &str| -> Vec<String> {
        s.split("::")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut paths = Vec::new();
    let prefix = "crate::api::";
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head = names(&rest[..end]);
        let Some(group) = rest[end..].strip_prefix('{') else {
            if !head.is_empty() {
                paths.push(head);
            }
            continue;
        };
        // The group's items, split at its own commas (not those of nested groups).
        let (mut depth, mut start) = (0usize, 0usize);
        let mut items = Vec::new();
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&group[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        for item in items {
            let item = item.split('{').next().unwrap_or("");
            let mut path = head.clone();
            path.extend(names(item).into_iter().filter(|n| n != "self"));
            if !path.is_empty() {
                paths.push(path);
            }
        }
    }
    paths
}

#[test]
fn layers_import_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for (layer, forbidden) in [
        ("proto", &["crate::runtime", "crate::api"][..]),
        ("runtime", &["crate::api"][..]),
    ] {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        for f in files {
            let code = code_of(&fs::read_to_string(&f).expect("read"));
            for word in forbidden {
                if code.contains(word) {
                    bad.push(format!("{}: uses {word}", f.display()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "layer rule broken:\n{}", bad.join("\n"));
}

#[test]
fn api_rooms_import_one_way() {
    let api = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut files = Vec::new();
    rust_files(&api, &mut files);
    let mut bad = Vec::new();
    let mut checked = 0;
    for f in files {
        let rel = f.strip_prefix(&api).expect("under src/api");
        let parts: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let room = parts[0].as_str();
        if room == "mod" {
            continue;
        }
        let own = match room {
            "tests" => TOP,
            _ => rank(room, parts.get(1).map(String::as_str), false)
                .unwrap_or_else(|| panic!("{}: not in any room of the layout", rel.display())),
        };
        let code = code_of(&fs::read_to_string(&f).expect("read"));
        checked += 1;
        // Leaving the room by `super::`: from `<room>/mod.rs` any `super::`, from a file
        // `<room>/x.rs` two of them (an inline test module's `use super::*` stays inside).
        let depth = parts.len() - usize::from(parts.last().is_some_and(|p| p == "mod"));
        let escape = "super::".repeat(depth);
        for line in code.lines() {
            let t = line.trim_start();
            if t.starts_with("use super::*;") && line.starts_with(' ') {
                continue;
            }
            if line.contains(&escape) && depth > 0 {
                bad.push(format!(
                    "{}: leaves its room by `super::` ({})",
                    rel.display(),
                    t
                ));
            }
        }
        for path in api_paths(&code) {
            let target_room = path[0].as_str();
            if target_room == room || target_room == "abi" {
                continue;
            }
            let Some(target) = rank(target_room, path.get(1).map(String::as_str), true) else {
                bad.push(format!(
                    "{}: crate::api::{} is not a room",
                    rel.display(),
                    path.join("::")
                ));
                continue;
            };
            let through_link = path.get(1).is_some_and(|s| s == "link");
            if target > own && !through_link {
                let only = if target == TOP {
                    "the table, entry points and parameter router are used by none".to_string()
                } else {
                    format!("only `{target_room}::link` may be used from here")
                };
                bad.push(format!(
                    "{}: reaches up to crate::api::{} ({only})",
                    rel.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(checked > 50, "only {checked} files found under src/api");
    bad.sort();
    bad.dedup();
    assert!(
        bad.is_empty(),
        "src/api import rule broken ({} places):\n{}",
        bad.len(),
        bad.join("\n")
    );
}
