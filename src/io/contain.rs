//! Third-party readers that panic on malformed input (Burn's record loader does, on a bad
//! parameter id) are run here, so that a damaged file is an error naming it and never a
//! crash. Only for input that passed every check of our own first.

use crate::{Error, Result};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs a contained reader: its panic is reported as an error,
    /// not printed.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Runs `read`; a panic in it becomes the error `on_panic` makes of the panic's message,
/// and a panic already caught leaves this thread as it found it.
pub fn contained<T>(
    read: impl FnOnce() -> Result<T>,
    on_panic: impl FnOnce(&str) -> Error,
) -> Result<T> {
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
        Err(on_panic(
            panic_text(payload.as_ref()).unwrap_or("malformed contents"),
        ))
    })
}

/// The message a panic carried (`panic!("…")` gives a `&str` or a `String`), if any: the
/// one reading of a panic's payload for every place that reports a caught panic.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_reader_is_an_error_naming_the_file() {
        let named = |why: &str| Error::format("last.ckpt", format!("unreadable: {why}"));
        let err = contained::<()>(|| panic!("Invalid id."), named).unwrap_err();
        assert_eq!(err.to_string(), "last.ckpt: unreadable: Invalid id.");
        let owned = contained::<()>(|| panic!("{} id", "bad"), named).unwrap_err();
        assert_eq!(owned.to_string(), "last.ckpt: unreadable: bad id");
        let fine = contained(|| Ok(7), named).unwrap();
        assert_eq!(fine, 7);
        let later = std::panic::catch_unwind(|| panic!("outside"));
        assert!(later.is_err(), "panics outside still unwind as before");
    }
}
