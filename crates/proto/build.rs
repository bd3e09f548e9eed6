//! Compiles the protobuf contract in `proto/` (at the repository root) into
//! Rust code in `OUT_DIR`, without `protoc`: protox parses the files, then
//! tonic-prost-build generates the messages, servers and clients. The encoded
//! descriptor set is written to `OUT_DIR/descriptor.bin` for gRPC server
//! reflection.

use std::error::Error;
use std::path::{Path, PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    println!("cargo:rerun-if-changed={}", proto_root.display());
    println!("cargo:rerun-if-changed=build.rs");

    // Every .proto file under proto/, as a path relative to the proto root
    // (the name it is imported by), in a stable order.
    let mut files = Vec::new();
    collect_protos(&proto_root, &proto_root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }

    let fds = protox::compile(&files, [&proto_root])?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .include_file("tenure.rs")
        .compile_fds(fds.clone())?;

    std::fs::write(out_dir.join("descriptor.bin"), fds.encode_to_vec())?;
    Ok(())
}

/// Collects the `.proto` files under `dir`, relative to `root`.
fn collect_protos(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(root, &path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            let relative = path
                .strip_prefix(root)
                .map_err(std::io::Error::other)?
                .to_path_buf();
            files.push(relative);
        }
    }
    Ok(())
}
