//! A plugin built against a contract version from the future: the host must refuse it, naming
//! the versions it supports and the one it found. Only the wasm build exports the contract (a
//! native build would try to export symbols whose names hold `:` and `@`).

#[cfg(target_arch = "wasm32")]
mod later {
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

    struct Later;

    impl exports::gavel::reward::plugin::Guest for Later {
        fn describe() -> String {
            "from a later contract".into()
        }
    }

    export!(Later);
}
