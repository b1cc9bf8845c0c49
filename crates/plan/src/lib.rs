//! rewind plan stage.
