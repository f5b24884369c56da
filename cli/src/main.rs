//! `berth`: the remote CLI. All behaviour lives in the library.

/// mimalloc: see README, "Decisions worth knowing".
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut io = berth_cli::Io::stdio();
    let code = berth_cli::run(std::env::args_os(), &mut io).await;
    std::process::ExitCode::from(code.clamp(0, 255) as u8)
}
