//! What a plugin says about itself, independent of the contract version it was built against.

/// What a plugin says about itself (its `describe` export), plus the contract version it was
/// built against.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    /// Short name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// What it scores and how.
    pub description: String,
    /// JSON Schema of its config, as JSON text.
    pub config_schema: String,
    /// JSON Schema of the reference it expects, as JSON text.
    pub reference_schema: String,
    /// The `gavel:reward` contract version it exports.
    pub api_version: String,
    /// Capabilities it requests beyond pure computation (contract 0.2.0; none before).
    pub capabilities: Vec<String>,
}
