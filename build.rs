//! Compiles the wire contract in proto/ into the root crate. protoc comes from
//! protoc-bin-vendored so a fresh machine needs nothing installed; an explicit
//! PROTOC in the environment wins.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        // SAFETY: build scripts are single-threaded; edition 2024 marks set_var unsafe.
        unsafe { std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?) };
    }
    println!("cargo:rerun-if-changed=proto");
    // The descriptor set feeds gRPC server reflection (grpcurl, grpcui).
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("berth_descriptor.bin"))
        .build_server(true)
        .build_client(true)
        // Chart chunks decode as views of the received buffer (no copy),
        // and the CLI sends slices of its packed chart.
        .bytes(".berth.v1.UpgradeRequest.chunk")
        .compile_protos(&["proto/berth/v1/agent.proto"], &["proto"])?;
    Ok(())
}
