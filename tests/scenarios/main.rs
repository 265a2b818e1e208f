//! End-to-end scenarios: each starts its own world (virtual clock, emulator, receiver,
//! archive) and runs fixture tickets through the one workflow definition.

mod happy_path;
