//! Writes the bundled dataset and its persona guide:
//! `cargo run -p genesys-emulator --example generate-dataset [-- --seed N]`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seed = genesys_emulator::generate::DEFAULT_SEED;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => seed = args.next().ok_or("--seed needs a number")?.parse()?,
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: generate-dataset [--seed N]"
                )
                .into());
            }
        }
    }
    let ds = genesys_emulator::generate::generate(seed);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    std::fs::write(dir.join("dataset.json"), ds.to_json_pretty())?;
    std::fs::write(
        dir.join("PERSONAS.md"),
        genesys_emulator::generate::personas_markdown(&ds),
    )?;
    println!(
        "wrote {} conversations, {} users, {} external contacts to {}",
        ds.conversations.len(),
        ds.users.len(),
        ds.external_contacts.len(),
        dir.display()
    );
    Ok(())
}
