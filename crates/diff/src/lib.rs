//! rewind diff stage.
