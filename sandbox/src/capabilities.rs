//! The capabilities an operator may grant a plugin beyond pure computation.
//!
//! Each one links a group of WASI interfaces, and each is *virtual*: what the plugin sees is
//! fixed by gavel and by the grant, never the host's. A clock that does not move, randomness
//! from a seed, a filesystem holding only the plugin's own files and sockets that refuse every
//! call. So a granted plugin stays deterministic: the same input gives the same reward on any
//! machine, at any time. Toolchains such as componentize-py import all of these whether or
//! not the code uses them; granting them is what lets such components load at all.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A capability a plugin requests (in its `plugin-info`) and an operator grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// `wasi:clocks/wall-clock` and `wasi:clocks/monotonic-clock`. The wall clock always
    /// reads [`VIRTUAL_WALL_CLOCK_SECS`] (2000-01-01T00:00:00Z); the monotonic clock starts
    /// at 0 in every call and advances 1 µs per reading, so elapsed-time loops end and
    /// durations are the same on every run.
    Clock,
    /// `wasi:random/random`, `wasi:random/insecure` and `wasi:random/insecure-seed`: a
    /// pseudo-random stream from [`Grants::seed`], restarted in every call. Deterministic by
    /// design, so not a secret: a plugin cannot use it for cryptography.
    Random,
    /// `wasi:filesystem/types` and `wasi:filesystem/preopens`: the files the plugin ships in
    /// its own component (a `gavel:files` section, covered by its pin), read-only at `/`, their
    /// times reading the virtual epoch; with none, no directory at all. Nothing of the host is
    /// reachable.
    Files,
    /// `wasi:sockets/*`: linked so a runtime that imports them loads, but every call fails
    /// with `access-denied`. gavel never grants network access, name lookups or listening.
    Sockets,
}

/// What the virtual wall clock always reads, in seconds since the Unix epoch:
/// 2000-01-01T00:00:00Z.
pub const VIRTUAL_WALL_CLOCK_SECS: u64 = 946_684_800;

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 4] =
        [Capability::Clock, Capability::Random, Capability::Files, Capability::Sockets];

    /// The name used in configs and `plugin-info`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Clock => "clock",
            Capability::Random => "random",
            Capability::Files => "files",
            Capability::Sockets => "sockets",
        }
    }

    /// The interface-name prefix of the WASI imports this capability links.
    fn prefix(self) -> &'static str {
        match self {
            Capability::Clock => "wasi:clocks/",
            Capability::Random => "wasi:random/",
            Capability::Files => "wasi:filesystem/",
            Capability::Sockets => "wasi:sockets/",
        }
    }

    /// One line on what a plugin granted this capability sees.
    pub fn meaning(self) -> &'static str {
        match self {
            Capability::Clock => {
                "wasi:clocks: the wall clock reads 2000-01-01T00:00:00Z, the monotonic clock starts at 0 and advances 1 µs per reading"
            }
            Capability::Random => {
                "wasi:random: a pseudo-random stream from the grant's seed, the same in every call"
            }
            Capability::Files => {
                "wasi:filesystem: the files the plugin ships, read-only at /; nothing of the host"
            }
            Capability::Sockets => "wasi:sockets: every call fails with access-denied",
        }
    }

    /// The capability an import such as `wasi:clocks/wall-clock@0.2.9` needs, if any
    /// (`0.2.x` versions only, the ones the host links).
    pub fn for_import(import: &str) -> Option<Capability> {
        let (interface, version) = import.split_once('@').unwrap_or((import, ""));
        if !(version.is_empty() || version.starts_with("0.2.")) {
            return None;
        }
        Capability::ALL.into_iter().find(|c| interface.starts_with(c.prefix()))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A capability name that is not one of [`Capability::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability {0:?} (capabilities are clock, random, files and sockets)")]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| UnknownCapability(name.to_owned()))
    }
}

/// What an operator grants one plugin. Nothing by default: a pure function.
///
/// As JSON (every field optional, unknown fields refused):
/// `{"capabilities": ["clock", "random"], "seed": 7}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grants {
    /// The capabilities granted. A plugin is loaded only if it requests no more than these,
    /// and imports nothing that needs a capability it did not request.
    pub capabilities: BTreeSet<Capability>,
    /// Seed of the `random` capability's stream. Default 0.
    pub seed: u64,
}

impl Grants {
    /// Grants `capabilities` with seed 0.
    pub fn of(capabilities: impl IntoIterator<Item = Capability>) -> Self {
        Self { capabilities: capabilities.into_iter().collect(), seed: 0 }
    }

    /// Parses capability names (as in a config's `grant = [...]`), naming the first unknown.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, UnknownCapability> {
        let capabilities = names.into_iter().map(str::parse).collect::<Result<_, _>>()?;
        Ok(Self { capabilities, seed: 0 })
    }

    /// Whether `capability` is granted.
    pub fn allows(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_map_to_the_capability_they_need() {
        let need = Capability::for_import;
        assert_eq!(need("wasi:clocks/wall-clock@0.2.9"), Some(Capability::Clock));
        assert_eq!(need("wasi:random/insecure-seed@0.2.0"), Some(Capability::Random));
        assert_eq!(need("wasi:filesystem/preopens@0.2.6"), Some(Capability::Files));
        assert_eq!(need("wasi:sockets/tcp@0.2.0"), Some(Capability::Sockets));
        assert_eq!(need("wasi:sockets/tcp@0.3.0"), None);
        assert_eq!(need("wasi:http/outgoing-handler@0.2.0"), None);
        assert_eq!(need("wasi:io/streams@0.2.0"), None);
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_named() {
        for capability in Capability::ALL {
            assert_eq!(capability.name().parse::<Capability>(), Ok(capability));
            let json = serde_json::to_string(&capability).unwrap();
            assert_eq!(json, format!("\"{capability}\""));
        }
        let err = Grants::parse(["clock", "network"]).unwrap_err();
        assert!(err.to_string().contains("\"network\""), "{err}");
        let grants: Grants =
            serde_json::from_str(r#"{"capabilities": ["random"], "seed": 3}"#).unwrap();
        assert!(grants.allows(Capability::Random) && !grants.allows(Capability::Clock));
        assert!(serde_json::from_str::<Grants>(r#"{"network": true}"#).is_err());
    }
}
