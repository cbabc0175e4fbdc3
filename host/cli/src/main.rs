//! `gavel`: score rollouts with sandboxed reward plugins.

mod demo;
mod plugin;
mod plugins;
mod policy;
mod prm;
mod score;
mod serve;

use clap::{Parser, Subcommand};
use gavel_host::Host;
use gavel_policy::SourceKinds;

/// Verifiable rewards for LLM reinforcement learning, computed by WebAssembly-sandboxed plugins.
#[derive(Parser)]
#[command(name = "gavel", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score JSON-lines samples with a plugin, a policy or a verifier, one result line per input
    /// line.
    Score(score::Args),
    /// Serve a policy over HTTP (`/v1/score`, OpenRLHF's `/get_reward`, `/metrics`, ...).
    Serve(serve::Args),
    /// Check a policy file and print its plan: its sources, when each runs, its terms.
    Check {
        /// The policy file (TOML).
        policy: std::path::PathBuf,
    },
    /// List the bundled plugins.
    Plugins,
    /// Write, build and test a plugin of your own.
    #[command(subcommand)]
    Plugin(plugin::Command),
    /// Print what a plugin says about itself, the capabilities it requests and what it
    /// imports.
    Inspect {
        /// A bundled plugin's name or a `.wasm` component file.
        plugin: String,
        #[command(flatten)]
        grants: plugins::GrantArgs,
    },
    /// Score the bundled example of GRPO rollouts and print a table.
    Demo,
    /// Process reward models: score each reasoning step.
    #[command(subcommand)]
    Prm(prm::Command),
    /// Internal: compile one component (wasm on stdin, precompiled code on stdout), run by
    /// gavel itself in a child process bounded in time and memory.
    #[command(hide = true)]
    CompileComponent,
}

/// The source kinds policies may use in this binary: the standard ones (`wasm`, `field`) and
/// the native verifiers (`swe`, `prm`).
fn source_kinds(host: Host) -> SourceKinds {
    let mut kinds = SourceKinds::standard(host);
    gavel_swe::register(&mut kinds);
    gavel_prm::register(&mut kinds);
    kinds
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GAVEL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CompileComponent => return gavel_host::run_compile_child(),
        Command::Score(args) => score::run(args),
        Command::Check { policy } => policy::check(&policy),
        Command::Serve(args) => serve::run(args),
        Command::Plugins => plugins::list(),
        Command::Plugin(command) => plugin::run(command),
        Command::Inspect { plugin, grants } => plugins::inspect(&plugin, &grants),
        Command::Demo => demo::run(),
        Command::Prm(command) => prm::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
