//! Shared test support; each test crate includes it with `mod support;`.

pub(crate) mod openbao;
