//! What commands print on purpose, as opposed to logs: results on standard output, the final
//! error on standard error.

use std::io::Write;

pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`portcullis user list | head`) is not an error worth reporting.
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

pub fn err(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
