//! `gavel prm score`: step scores from a process reward model, one result line per input line.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use gavel_prm::Prm;
use serde::Deserialize;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Score the steps of each input line with a PRM checkpoint.
    Score(ScoreArgs),
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// The checkpoint directory (config.json, *.safetensors, tokenizer.json for text input).
    #[arg(long)]
    model: PathBuf,
    /// JSON lines: {"id", "prompt", "steps": [...]} or {"id", "input_ids": [...],
    /// "step_token_id": N}; `-` for standard input.
    #[arg(long)]
    input: PathBuf,
    /// Output file (default: standard output).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: serde_json::Value,
    prompt: Option<String>,
    steps: Option<Vec<String>>,
    input_ids: Option<Vec<u32>>,
    step_token_id: Option<u32>,
}

pub fn run(command: Command) -> anyhow::Result<()> {
    let Command::Score(args) = command;
    let prm = Prm::load(&args.model)
        .with_context(|| format!("cannot load the PRM in {}", args.model.display()))?;
    let input: Box<dyn Read> = if args.input.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            File::open(&args.input)
                .with_context(|| format!("cannot open input {}", args.input.display()))?,
        )
    };
    let mut output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let (mut scored, mut failed) = (0usize, 0usize);
    for (index, line) in BufReader::new(input).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read input line {}", index + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<Line>(&line) {
            Err(e) => Err((
                serde_json::json!(format!("line {}", index + 1)),
                format!("line {}: {e}", index + 1),
            )),
            Ok(l) => score_line(&prm, &l).map(|s| (l.id.clone(), s)).map_err(|e| (l.id, e)),
        };
        let record = match result {
            Ok((id, scores)) => {
                scored += 1;
                let mut record = serde_json::to_value(scores)?;
                record["id"] = id;
                record
            }
            Err((id, error)) => {
                failed += 1;
                serde_json::json!({"id": id, "error": error})
            }
        };
        serde_json::to_writer(&mut output, &record)?;
        output.write_all(b"\n")?;
    }
    output.flush().context("cannot write results")?;
    eprintln!("scored {scored} line{}, {failed} with an error", if scored == 1 { "" } else { "s" });
    Ok(())
}

fn score_line(prm: &Prm, line: &Line) -> Result<gavel_prm::StepScores, String> {
    match (&line.input_ids, line.step_token_id, &line.steps) {
        (Some(ids), Some(step), None) => prm.score_ids(ids, step).map_err(|e| e.to_string()),
        (None, None, Some(steps)) => {
            prm.score_text(line.prompt.as_deref().unwrap_or(""), steps).map_err(|e| e.to_string())
        }
        _ => {
            Err("give either \"prompt\" and \"steps\", or \"input_ids\" and \"step_token_id\""
                .into())
        }
    }
}
