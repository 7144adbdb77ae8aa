//! `portcullis`: parse the command line, run the command, report a failure in one line.

use std::process::ExitCode;

use clap::Parser;
use server::{cli::Cli, commands, console};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            console::err(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}
