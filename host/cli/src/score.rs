//! `gavel score`: JSON lines in, one result line per input line out, in order.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use gavel_core::{Outcome, Record, Sample, Status};
use gavel_host::LoadOptions;
use gavel_policy::{Policy, Scorer, SourceSpec};
use gavel_sandbox::WasmLimits;
use indicatif::{ProgressBar, ProgressStyle};

/// Lines read, scored and written at a time: bounds memory on inputs of any size. A chunk
/// is extended to the end of the GRPO group it stops in, so adjacent samples of a group are
/// always scored (and normalised) together.
const CHUNK_LINES: usize = 4096;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("scorer").required(true).args(["plugin", "policy", "verifier"])))]
pub struct Args {
    /// A bundled plugin's name (see `gavel plugins`) or a `.wasm` component file.
    #[arg(long)]
    plugin: Option<String>,
    /// A policy file (TOML) combining plugins and other sources; see `gavel check`.
    #[arg(long, conflicts_with_all = ["config", "limits"])]
    policy: Option<PathBuf>,
    /// A native verifier: `swe` (the model's patch, tested in Docker; the reference is the
    /// task). `--config` is its configuration (`{"socket": ..., "limits": {...}}`).
    #[arg(long, value_enum, conflicts_with = "limits")]
    verifier: Option<Verifier>,
    /// The training step, for policies that schedule their weights (`sched`).
    #[arg(long, default_value_t = 0.0, requires = "policy")]
    step: f64,
    /// The plugin's (or verifier's) config, as a JSON object.
    #[arg(long)]
    config: Option<String>,
    /// Limits overriding the defaults, as a JSON object (e.g. '{"deadline_ms": 200}').
    #[arg(long)]
    limits: Option<String>,
    #[command(flatten)]
    grants: crate::plugins::GrantArgs,
    /// Input JSON-lines file, or `-` for standard input.
    #[arg(long)]
    input: PathBuf,
    /// Output file (default: standard output).
    #[arg(long)]
    output: Option<PathBuf>,
}

/// The native verifiers `--verifier` can name.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Verifier {
    /// SWE tests in Docker.
    Swe,
}

/// The plugin, policy or verifier the arguments name, loaded and checked.
fn scorer(args: &Args) -> anyhow::Result<Scorer> {
    if (args.policy.is_some() || args.verifier.is_some()) && !args.grants.is_empty() {
        anyhow::bail!(
            "--grant and --seed apply to --plugin; a policy grants capabilities in its wasm sources"
        );
    }
    if let Some(path) = &args.policy {
        let host = crate::plugins::new_host()?;
        let policy = Policy::load(path, &crate::source_kinds(host))?;
        return Ok(Scorer::Policy(policy));
    }
    let config: serde_json::Value = serde_json::from_str(args.config.as_deref().unwrap_or("{}"))
        .context("--config is not valid JSON")?;
    if let Some(verifier) = args.verifier {
        let kind = match verifier {
            Verifier::Swe => "swe",
        };
        let serde_json::Value::Object(map) = config else {
            anyhow::bail!("--config must be a JSON object");
        };
        let table: toml::Table = serde_json::from_value(serde_json::Value::Object(map))
            .context("--config cannot be read as a source table")?;
        let spec = SourceSpec { name: kind, table: &table, base_dir: std::path::Path::new(".") };
        // A native verifier needs no plugin host: only the native kinds are registered.
        let mut kinds = gavel_policy::SourceKinds::new();
        gavel_swe::register(&mut kinds);
        let source =
            kinds.build(kind, &spec).map_err(|e| anyhow::anyhow!("--verifier {kind}: {e}"))?;
        return Ok(Scorer::Source(source));
    }
    let spec = args.plugin.as_deref().expect("clap requires --plugin, --policy or --verifier");
    let limits: WasmLimits = serde_json::from_str(args.limits.as_deref().unwrap_or("{}"))
        .context("--limits is invalid")?;
    let options = LoadOptions { limits, grants: args.grants.grants(), ..LoadOptions::default() };
    let (host, plugin) = crate::plugins::load(spec, &options)?;
    host.check_config(&plugin, &config)?;
    Ok(Scorer::Plugin { host, plugin, config })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let scorer = scorer(&args)?;
    let with_advantage = scorer.has_advantage();

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
    let mut lines = BufReader::new(input).lines().enumerate().peekable();
    loop {
        // Parse a chunk: samples to score, and per-line parse failures kept in place.
        let mut slots: Vec<Result<String, (String, Outcome)>> = Vec::new();
        let mut samples: Vec<Sample> = Vec::new();
        while let Some((index, line)) = lines.next() {
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
            if slots.len() >= CHUNK_LINES && !next_in_same_group(&mut lines, samples.last()) {
                break;
            }
        }
        if slots.is_empty() {
            break;
        }
        let mut scored = runtime.block_on(scorer.score(samples, args.step))?.into_iter();
        for slot in slots {
            let (id, outcome, advantage) = match slot {
                Ok(id) => {
                    let (outcome, advantage) = scored.next().expect("one outcome per sample");
                    (id, outcome, with_advantage.then_some(advantage))
                }
                Err((id, outcome)) => (id, outcome, with_advantage.then_some(None)),
            };
            tally.add(&outcome);
            serde_json::to_writer(&mut output, &Record { id: &id, outcome: &outcome, advantage })?;
            output.write_all(b"\n")?;
        }
        output.flush().context("cannot write results")?;
    }
    progress.finish_and_clear();
    eprintln!("{} in {:.2?}", tally, started.elapsed());
    Ok(())
}

/// Whether the next input line belongs to the same GRPO group as `last` (peeking at it).
fn next_in_same_group<I>(lines: &mut std::iter::Peekable<I>, last: Option<&Sample>) -> bool
where
    I: Iterator<Item = (usize, std::io::Result<String>)>,
{
    let Some(group) = last.and_then(|s| s.group.as_deref()) else { return false };
    match lines.peek() {
        Some((_, Ok(line))) => {
            Sample::from_json_line(line).is_ok_and(|s| s.group.as_deref() == Some(group))
        }
        _ => false,
    }
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
