//! Third-party readers that panic on malformed input (Burn's record loader does, on a bad
//! parameter id) are run here, so that a damaged file is an error naming it and never a
//! crash. Only for input that passed every check of our own first.

use crate::{Error, Result};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a contained reader: its panic is reported as an error,
    /// not printed.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Runs `read` on the bytes of `path`; a panic in it becomes [`Error::Format`] saying
/// which `what` could not be read.
pub fn contained<T>(path: &Path, what: &str, read: impl FnOnce() -> Result<T>) -> Result<T> {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONTAINING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = CONTAINING.with(|c| c.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(read));
    CONTAINING.with(|c| c.set(was));
    outcome.unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "malformed contents".into());
        Err(Error::format(path, format!("unreadable {what}: {reason}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_reader_is_an_error_naming_the_file() {
        let err = contained::<()>(Path::new("last.ckpt"), "model record", || {
            panic!("Invalid id.")
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "last.ckpt: unreadable model record: Invalid id."
        );
        let fine = contained(Path::new("x"), "record", || Ok(7)).unwrap();
        assert_eq!(fine, 7);
        let later = std::panic::catch_unwind(|| panic!("outside"));
        assert!(later.is_err(), "panics outside still unwind as before");
    }
}
