//! `gavel score`: JSON lines in, one result line per input line out, in order.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use gavel_core::{Outcome, Record, Sample, Status};
use gavel_sandbox::WasmLimits;
use indicatif::{ProgressBar, ProgressStyle};

/// Lines read, scored and written at a time: bounds memory on inputs of any size.
const CHUNK_LINES: usize = 4096;

#[derive(clap::Args)]
pub struct Args {
    /// A bundled plugin's name (see `gavel plugins`) or a `.wasm` component file.
    #[arg(long)]
    plugin: String,
    /// The plugin's config, as a JSON object.
    #[arg(long, default_value = "{}")]
    config: String,
    /// Limits overriding the defaults, as a JSON object (e.g. '{"deadline_ms": 200}').
    #[arg(long, default_value = "{}")]
    limits: String,
    /// Input JSON-lines file, or `-` for standard input.
    #[arg(long)]
    input: PathBuf,
    /// Output file (default: standard output).
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config: serde_json::Value =
        serde_json::from_str(&args.config).context("--config is not valid JSON")?;
    let limits: WasmLimits = serde_json::from_str(&args.limits).context("--limits is invalid")?;
    let (host, plugin) = crate::plugins::load(&args.plugin, limits)?;
    host.check_config(&plugin, &config)?;

    let (input, size): (Box<dyn Read>, Option<u64>) = if args.input.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(&args.input)
            .with_context(|| format!("cannot open input {}", args.input.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let mut output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path)
                .with_context(|| format!("cannot create output {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let progress = progress_bar(size);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;

    let started = Instant::now();
    let mut tally = Tally::default();
    let mut lines = BufReader::new(input).lines().enumerate();
    loop {
        // Parse a chunk: samples to score, and per-line parse failures kept in place.
        let mut slots: Vec<Result<String, (String, Outcome)>> = Vec::new();
        let mut samples = Vec::new();
        for (index, line) in lines.by_ref() {
            let line = line.with_context(|| format!("cannot read input line {}", index + 1))?;
            progress.inc(line.len() as u64 + 1);
            if line.trim().is_empty() {
                continue;
            }
            match Sample::from_json_line(&line) {
                Ok(sample) => {
                    slots.push(Ok(sample.id.clone()));
                    samples.push(sample);
                }
                Err(e) => {
                    let id = e.id.clone().unwrap_or_else(|| format!("line {}", index + 1));
                    let outcome = Outcome::invalid(format!("line {}: {}", index + 1, e.message));
                    slots.push(Err((id, outcome)));
                }
            }
            if slots.len() == CHUNK_LINES {
                break;
            }
        }
        if slots.is_empty() {
            break;
        }
        let mut scored = runtime.block_on(host.score_batch(&plugin, samples, &config))?.into_iter();
        for slot in slots {
            let (id, outcome) = match slot {
                Ok(id) => (id, scored.next().expect("one outcome per sample")),
                Err(failed) => failed,
            };
            tally.add(&outcome);
            serde_json::to_writer(&mut output, &Record { id: &id, outcome: &outcome })?;
            output.write_all(b"\n")?;
        }
        output.flush().context("cannot write results")?;
    }
    progress.finish_and_clear();
    eprintln!("{} in {:.2?}", tally, started.elapsed());
    Ok(())
}

fn progress_bar(size: Option<u64>) -> ProgressBar {
    let bar = match size {
        Some(bytes) => ProgressBar::new(bytes).with_style(
            ProgressStyle::with_template(
                "{spinner} scoring [{bar:30}] {bytes}/{total_bytes} ({eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// Counts of outcomes by status, for the closing summary.
#[derive(Default)]
struct Tally {
    counts: [usize; 5],
}

impl Tally {
    const ORDER: [Status; 5] =
        [Status::Ok, Status::NotApplicable, Status::Invalid, Status::Timeout, Status::Error];

    fn add(&mut self, outcome: &Outcome) {
        let i = Self::ORDER.iter().position(|s| *s == outcome.status()).expect("all statuses");
        self.counts[i] += 1;
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: usize = self.counts.iter().sum();
        write!(f, "scored {total} sample{}:", if total == 1 { "" } else { "s" })?;
        let parts: Vec<String> =
            Self::ORDER.iter().zip(self.counts).map(|(s, n)| format!(" {n} {s}")).collect();
        f.write_str(&parts.join(","))
    }
}
