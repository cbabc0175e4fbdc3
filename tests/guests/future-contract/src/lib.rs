//! A plugin built against a contract version from the future: the host must refuse it, naming
//! the versions it supports and the one it found.

wit_bindgen::generate!({
    inline: "
        package gavel:reward@9.0.0;
        interface plugin {
            describe: func() -> string;
        }
        world later {
            export plugin;
        }
    ",
});

struct Future;

impl exports::gavel::reward::plugin::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

export!(Future);
