//! The outcome of scoring one sample, success or typed failure.

use std::fmt;

/// A reward with its named parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The reward; always finite.
    pub value: f64,
    /// Named parts of the reward, in the order the scorer gave them; names are unique.
    pub components: Vec<(String, f64)>,
    /// A short, human-readable reason.
    pub explanation: Option<String>,
}

impl Score {
    /// A reward with no components.
    pub fn new(value: f64) -> Self {
        Self { value, components: Vec::new(), explanation: None }
    }
}

/// What stopped a sample that ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// The wall-clock deadline passed.
    Deadline,
    /// The deterministic instruction budget (fuel) ran out.
    Fuel,
}

/// Why a scorer failed on a sample. Every kind is the scorer's or the host's failure, never a
/// judgement of the completion, so a trainer should mask the sample rather than reward it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The plugin panicked.
    Panic,
    /// The plugin trapped (unreachable, out-of-bounds access, …).
    Trap,
    /// The plugin overflowed its stack.
    StackOverflow,
    /// The plugin tried to grow its memory past the cap.
    MemoryLimit,
    /// The plugin's output exceeded the output cap.
    OutputLimit,
    /// The plugin returned NaN or an infinite reward or component.
    NonFinite,
    /// The plugin's output broke the contract (wrong number of outcomes, duplicate names).
    MalformedOutput,
    /// The host had no capacity for the call; retrying later may succeed.
    Capacity,
    /// Another sample of the same GRPO group failed in a source whose policy says
    /// `on_error = "drop_group"`, so the whole group is left out of this step.
    GroupDropped,
    /// A verifier's execution engine (the Docker engine) was unreachable, lacked the task's
    /// image, or failed while running it: the verdict is unknown.
    Engine,
    /// The task's own setup (its setup commands, applying its test patch) failed, so its tests
    /// could not say anything about the completion.
    Setup,
    /// Anything else the host could not complete.
    Host,
}

impl ErrorKind {
    /// The kind's stable `snake_case` name, as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Panic => "panic",
            Self::Trap => "trap",
            Self::StackOverflow => "stack_overflow",
            Self::MemoryLimit => "memory_limit",
            Self::OutputLimit => "output_limit",
            Self::NonFinite => "non_finite",
            Self::MalformedOutput => "malformed_output",
            Self::Capacity => "capacity",
            Self::GroupDropped => "group_dropped",
            Self::Engine => "engine",
            Self::Setup => "setup",
            Self::Host => "host",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of scoring one sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The sample was scored.
    Scored(Score),
    /// The scorer does not apply to this sample; mask it.
    NotApplicable {
        /// Why not, when the scorer said.
        reason: Option<String>,
    },
    /// The sample (or the config) is malformed for this scorer.
    Invalid {
        /// What was wrong.
        message: String,
    },
    /// The scorer ran out of time or fuel on this sample.
    Timeout {
        /// Which budget ran out.
        kind: TimeoutKind,
        /// Details, such as the budget.
        message: String,
    },
    /// The scorer failed on this sample.
    Error {
        /// What kind of failure.
        kind: ErrorKind,
        /// Details, such as a panic message.
        message: String,
    },
}

/// The five classes of outcome, as written in the `status` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Scored.
    Ok,
    /// Not applicable.
    NotApplicable,
    /// Invalid input.
    Invalid,
    /// Ran out of time or fuel.
    Timeout,
    /// Failed.
    Error,
}

impl Status {
    /// The status's JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NotApplicable => "not_applicable",
            Self::Invalid => "invalid",
            Self::Timeout => "timeout",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    /// A scored outcome with no components.
    pub fn scored(value: f64) -> Self {
        Self::Scored(Score::new(value))
    }

    /// An invalid-input outcome.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid { message: message.into() }
    }

    /// An error outcome.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::Error { kind, message: message.into() }
    }

    /// A timeout outcome.
    pub fn timeout(kind: TimeoutKind, message: impl Into<String>) -> Self {
        Self::Timeout { kind, message: message.into() }
    }

    /// The outcome's class.
    pub fn status(&self) -> Status {
        match self {
            Self::Scored(_) => Status::Ok,
            Self::NotApplicable { .. } => Status::NotApplicable,
            Self::Invalid { .. } => Status::Invalid,
            Self::Timeout { .. } => Status::Timeout,
            Self::Error { .. } => Status::Error,
        }
    }

    /// The reward, only for a scored outcome.
    pub fn reward(&self) -> Option<f64> {
        match self {
            Self::Scored(score) => Some(score.value),
            _ => None,
        }
    }

    /// The message of a non-scored outcome (the reason, for not-applicable).
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Scored(_) => None,
            Self::NotApplicable { reason } => reason.as_deref(),
            Self::Invalid { message }
            | Self::Timeout { message, .. }
            | Self::Error { message, .. } => Some(message),
        }
    }

    /// True when the outcome is a failure of the scorer or host (timeout or error): a sample a
    /// trainer should mask and may retry.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Error { .. })
    }
}
