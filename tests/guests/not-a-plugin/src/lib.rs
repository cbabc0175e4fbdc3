//! A component, but not a gavel plugin: it exports no `gavel:reward/plugin`.

/// Adds two numbers; nothing a reward host can call.
pub fn add(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}
