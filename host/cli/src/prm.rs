//! `gavel prm score`: step scores from a process reward model, one result line per input line.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use gavel_prm::{Device, Prm, PrmError, StepScores, weights::Weights};
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
    /// Where to run: `auto` (the GPU when one is usable, else the CPU), `cpu` or `cuda`
    /// (default: $GAVEL_PRM_DEVICE, else auto).
    #[arg(long)]
    device: Option<Device>,
}

/// Input lines scored together: one packed batch on a GPU, one parallel batch on the CPU.
const LINES_PER_BATCH: usize = 256;

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
    let device = match args.device {
        Some(device) => device,
        None => Device::from_env()?,
    };
    let prm = Weights::files(&args.model)
        .and_then(|files| Prm::load_with(&args.model, &files, device))
        .with_context(|| format!("cannot load the PRM in {}", args.model.display()))?;
    eprintln!("PRM on {}", prm.backend());
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
    let mut batch = Vec::with_capacity(LINES_PER_BATCH);
    let mut lines = BufReader::new(input).lines().enumerate().peekable();
    while lines.peek().is_some() {
        batch.clear();
        for (index, line) in lines.by_ref() {
            let line = line.with_context(|| format!("cannot read input line {}", index + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            batch.push(encode_line(&prm, index, &line));
            if batch.len() == LINES_PER_BATCH {
                break;
            }
        }
        for (id, result) in score(&prm, &batch) {
            let record = match result {
                Ok(scores) => {
                    scored += 1;
                    let mut record = serde_json::to_value(scores)?;
                    record["id"] = id;
                    record
                }
                Err(error) => {
                    failed += 1;
                    serde_json::json!({"id": id, "error": error})
                }
            };
            serde_json::to_writer(&mut output, &record)?;
            output.write_all(b"\n")?;
        }
    }
    output.flush().context("cannot write results")?;
    eprintln!("scored {scored} line{}, {failed} with an error", if scored == 1 { "" } else { "s" });
    Ok(())
}

/// A line's id, and its ids and step token or why it cannot be scored.
type Encoded = (serde_json::Value, Result<(Vec<u32>, u32), String>);

fn encode_line(prm: &Prm, index: usize, line: &str) -> Encoded {
    let line = match serde_json::from_str::<Line>(line) {
        Ok(line) => line,
        Err(e) => {
            let at = format!("line {}", index + 1);
            return (serde_json::json!(at), Err(format!("{at}: {e}")));
        }
    };
    let encoded = match (line.input_ids, line.step_token_id, &line.steps) {
        (Some(ids), Some(step), None) => Ok((ids, step)),
        (None, None, Some(steps)) => {
            prm.encode(line.prompt.as_deref().unwrap_or(""), steps).map_err(|e| e.to_string())
        }
        _ => {
            Err("give either \"prompt\" and \"steps\", or \"input_ids\" and \"step_token_id\""
                .into())
        }
    };
    (line.id, encoded)
}

/// Scores the encoded lines as one batch; results in input order.
fn score(prm: &Prm, batch: &[Encoded]) -> Vec<(serde_json::Value, Result<StepScores, String>)> {
    let inputs: Vec<(&[u32], u32)> = batch
        .iter()
        .filter_map(|(_, e)| e.as_ref().ok().map(|(ids, step)| (ids.as_slice(), *step)))
        .collect();
    let mut results = prm.score_batch(&inputs).into_iter();
    batch
        .iter()
        .map(|(id, encoded)| {
            let result = match encoded {
                Ok(_) => results
                    .next()
                    .expect("one result per input")
                    .map_err(|e: PrmError| e.to_string()),
                Err(e) => Err(e.clone()),
            };
            (id.clone(), result)
        })
        .collect()
}
