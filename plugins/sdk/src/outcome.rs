//! What a plugin function returns.

use crate::bindings::gavel::reward::types as wit;

/// A reward with its named parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The reward; must be finite.
    pub value: f64,
    /// Named parts of the reward, in the order they were added.
    pub components: Vec<(String, f64)>,
    /// A short reason for the reward.
    pub explanation: Option<String>,
}

impl Score {
    /// A reward of `value` with no components.
    pub fn new(value: f64) -> Self {
        Self { value, components: Vec::new(), explanation: None }
    }

    /// Adds a named component.
    pub fn with(mut self, name: impl Into<String>, value: f64) -> Self {
        self.components.push((name.into(), value));
        self
    }

    /// Sets the explanation.
    pub fn because(mut self, explanation: impl Into<String>) -> Self {
        self.explanation = Some(explanation.into());
        self
    }
}

/// What a plugin says about one sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The sample was scored.
    Scored(Score),
    /// The plugin does not apply to this sample; the string says why.
    NotApplicable(String),
    /// The sample is malformed for this plugin; the string names what was wrong.
    Invalid(String),
}

impl Outcome {
    /// The plugin does not apply to this sample.
    pub fn not_applicable(reason: impl Into<String>) -> Self {
        Self::NotApplicable(reason.into())
    }

    /// The sample is malformed for this plugin.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// The reward of a scored outcome (for tests of plugin functions).
    pub fn reward(&self) -> Option<f64> {
        match self {
            Self::Scored(score) => Some(score.value),
            _ => None,
        }
    }
}

impl From<Score> for Outcome {
    fn from(score: Score) -> Self {
        Self::Scored(score)
    }
}

impl From<f64> for Outcome {
    fn from(value: f64) -> Self {
        Self::Scored(Score::new(value))
    }
}

impl From<Outcome> for wit::Outcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Scored(score) => wit::Outcome::Scored(wit::Score {
                value: score.value,
                components: score
                    .components
                    .into_iter()
                    .map(|(name, value)| wit::Component { name, value })
                    .collect(),
                explanation: score.explanation,
            }),
            Outcome::NotApplicable(reason) => wit::Outcome::NotApplicable(reason),
            Outcome::Invalid(message) => wit::Outcome::InvalidInput(message),
        }
    }
}
