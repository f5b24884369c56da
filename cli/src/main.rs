//! `berth`: the remote CLI. All behaviour lives in the library.

/// mimalloc: see README, "Decisions worth knowing".
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    for (var, value) in berth_cli::helm_path_env(&args) {
        // SAFETY: no other thread exists yet (the runtime starts below).
        unsafe { std::env::set_var(var, value) };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async {
        let mut io = berth_cli::Io::stdio();
        berth_cli::run(args, &mut io).await
    });
    std::process::ExitCode::from(code.clamp(0, 255) as u8)
}
