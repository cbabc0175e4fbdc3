//! `gavel check`: load a policy the way `gavel score --policy` would, and print its plan.

use std::path::Path;

use gavel_policy::Policy;

pub fn check(path: &Path) -> anyhow::Result<()> {
    let host = crate::plugins::new_host()?;
    let policy = Policy::load(path, &crate::source_kinds(host))?;
    println!("{}: ok", path.display());
    print!("{}", policy.plan());
    Ok(())
}
