//! Rewards the number of environment variables and arguments it can see (must be 0), and
//! names them in the explanation.

use gavel_plugin::{NoConfig, Outcome, Sample, Score};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args: Vec<String> = std::env::args().collect();
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default();
    let seen = vars.len() + args.len();
    Score::new(seen as f64).because(format!("vars={vars:?} args={args:?} cwd={cwd:?}")).into()
}

gavel_plugin::export!(reward, name = "environment");
