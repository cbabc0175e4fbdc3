//! Tries to connect to a local port, which imports `wasi:sockets`.

use gavel_plugin::{NoConfig, Outcome, Sample};

fn reward(_: &Sample, _: &NoConfig) -> Outcome {
    let connected = std::net::TcpStream::connect("127.0.0.1:80").is_ok();
    f64::from(u8::from(connected)).into()
}

gavel_plugin::export!(reward, name = "socket");
