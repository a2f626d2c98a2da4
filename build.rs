//! Lays out pidone's text for locality (see link/profile.sh for why and how the list is made).
//!
//! Only the `pidone` binary gets the ordering: the list names pidone's functions, and the
//! other programs of the workspace gain nothing from it. The flag is lld's (rustc's default
//! linker on x86_64 Linux since 1.90); entries that no longer exist are skipped, silently.
use std::hash::{DefaultHasher, Hash, Hasher};

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let order = format!("{dir}/link/hot-symbols.txt");
    println!("cargo:rerun-if-changed=link/hot-symbols.txt");
    println!("cargo:rustc-link-arg-bin=pidone=-Wl,--symbol-ordering-file={order}");
    println!("cargo:rustc-link-arg-bin=pidone=-Wl,--no-warn-symbol-ordering");
    // Segments at addresses congruent to their file offsets modulo 64 KiB: the page cache
    // holds a file in large folios aligned in the file, the kernel maps a fault 64 KiB around
    // it, aligned in memory, and a whole folio at a time: aligned alike, the two cover the same
    // pages (measured: 40 KiB less idle RSS). The file does not grow.
    println!("cargo:rustc-link-arg-bin=pidone=-Wl,-z,max-page-size=0x10000");
    // Stripped here rather than by rustc: see `[profile.release.package.pidone]`. link/profile.sh
    // keeps the symbols (same profile otherwise, so the same symbol names) to name functions.
    println!("cargo:rerun-if-env-changed=PIDONE_KEEP_SYMBOLS");
    let keep = std::env::var_os("PIDONE_KEEP_SYMBOLS").is_some();
    if std::env::var("PROFILE").as_deref() == Ok("release") && !keep {
        println!("cargo:rustc-link-arg-bin=pidone=-Wl,--strip-all");
    }
    // The link arguments stay the same when the list changes, and cargo relinks only when
    // what a build script prints changes: so print something that follows the list.
    let mut hasher = DefaultHasher::new();
    std::fs::read(&order).unwrap_or_default().hash(&mut hasher);
    println!("cargo:rustc-env=PIDONE_SYMBOL_ORDER={:x}", hasher.finish());
}
