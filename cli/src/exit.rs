//! Exit codes by outcome, the way ripgrep's `main` maps its results: one place that
//! turns an error into the status a script can act on (the table is in the README).

use simclr::error::ErrorKind;

/// A command line that cannot be carried out as given (an output that exists, a folder
/// where a file name belongs): the status of clap's own usage errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `Err` of a [`UsageError`] made of a format string.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(anyhow::Error::new($crate::exit::UsageError(format!($($arg)*))))
    };
}
pub(crate) use usage;

/// The exit status of a failed command: the kind of the first library error in its chain
/// ([`ErrorKind::exit_code`]), 2 for usage, 1 for anything else.
pub fn code(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if let Some(error) = cause.downcast_ref::<simclr::Error>() {
            return error.kind().exit_code();
        }
        if cause.is::<UsageError>() {
            return ErrorKind::Settings.exit_code();
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn failing_usage() -> anyhow::Result<()> {
        usage!("{} is a folder", "x")
    }

    #[test]
    fn the_first_typed_cause_decides_and_context_does_not_hide_it() {
        let run_folder: anyhow::Result<()> = Err(simclr::Error::RunExists {
            folder: "r".into(),
            what: "a run",
        })
        .context("cannot start");
        assert_eq!(code(&run_folder.unwrap_err()), 4);
        assert_eq!(code(&failing_usage().unwrap_err()), 2);
        assert_eq!(code(&anyhow::anyhow!("something else")), 1);
        let device = simclr::Error::Device("lost".into());
        assert_eq!(code(&device.into()), 5);
    }
}
