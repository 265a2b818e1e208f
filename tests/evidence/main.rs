//! The evidence a Data Protection Officer can rerun: the fault matrix (every fault on
//! every Genesys call, the archive, a crashing step, a repeated webhook, a replayed
//! approval), the hostile-input corpus through the whole pipeline, and the load run.
//! Every world here is an `e2e::Harness`, so the privacy check covers all of it.

mod corpus;
mod load;
mod matrix;
mod special;
mod world;
