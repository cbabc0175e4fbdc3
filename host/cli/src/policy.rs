//! `gavel check`: load a policy the way `gavel score --policy` would, and print its plan.

use std::path::Path;

use anyhow::Context;
use gavel_host::{Host, HostConfig};
use gavel_policy::Policy;

pub fn check(path: &Path) -> anyhow::Result<()> {
    let host = Host::new(HostConfig::default()).context("cannot start the plugin host")?;
    let policy = Policy::load(path, &crate::source_kinds(host))?;
    println!("{}: ok", path.display());
    print!("{}", policy.plan());
    Ok(())
}
