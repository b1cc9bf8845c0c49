//! rewind store stage.
