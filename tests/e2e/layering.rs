//! The layering rule: only `src/ui/` and `src/main.rs` may use egui or eframe, so the core stays
//! movable into a crate of its own and testable without a window.

use std::path::{Path, PathBuf};

/// Crates that belong to the UI layer.
const UI_CRATES: &[&str] = &[
    "egui",
    "eframe",
    "egui_extras",
    "egui_table",
    "egui_plot",
    "egui_kittest",
];

/// Lines of `source` (with comments removed) that use a UI crate, as (line number, line).
fn ui_uses(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let uses_ui = UI_CRATES.iter().any(|name| {
            code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = &code[at + name.len()..];
                let starts_word = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                let is_path =
                    after.starts_with("::") || after.starts_with(';') || after.starts_with(" as ");
                starts_word && is_path
            })
        });
        if uses_ui {
            found.push((index + 1, line.trim().to_owned()));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_ui_and_main_use_egui_or_eframe() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    let mut offenders = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("ui") || relative == Path::new("main.rs") {
            continue;
        }
        for (line, text) in ui_uses(&std::fs::read_to_string(&file).unwrap()) {
            offenders.push(format!("src/{}:{line}: {text}", relative.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "egui/eframe used outside src/ui and src/main.rs:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scanner_sees_uses_and_ignores_mentions() {
    assert_eq!(ui_uses("use egui::Context;").len(), 1);
    assert_eq!(ui_uses("fn f(ctx: &eframe::Frame) {}").len(), 1);
    assert_eq!(ui_uses("    use egui_table as table;").len(), 1);
    assert_eq!(
        ui_uses("let x = egui_extras::TableBuilder::new(ui);").len(),
        1
    );
    assert!(ui_uses("//! Only ui/ may use egui::Context").is_empty());
    assert!(ui_uses("let my_egui = 1; // egui::x").is_empty());
    assert!(ui_uses("let text = \"egui is the UI\";").is_empty());
}
