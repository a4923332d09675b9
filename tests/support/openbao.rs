//! Placeholder for the OpenBao dev-server support, written on another branch.
