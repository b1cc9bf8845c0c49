//! rewind report stage.
