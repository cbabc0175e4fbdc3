//! Tries to connect to a local port and to bind one, which imports `wasi:sockets`; requests
//! `sockets` (and `clock` and `files`, which std's networking imports). The reward counts
//! what succeeded.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let connected = std::net::TcpStream::connect("127.0.0.1:80").is_ok();
    let bound = std::net::TcpListener::bind("127.0.0.1:0").is_ok();
    f64::from(u8::from(connected) + u8::from(bound)).into()
}

gavel_plugin::export!(reward, name = "socket", capabilities = &["sockets", "clock", "files"]);
