//! Typed ids: what a hash names is part of its type.
//!
//! Every id is the blake3 hash of bytes ([`rewind_model::Hash`]); the
//! newtypes keep an object id from being passed where a snapshot id is
//! wanted. Both are written as 64 lowercase hex digits in keys, JSON and
//! messages (docs/store-format.md §2).

use std::fmt;

use rewind_model::{Hash, HashParseError};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(Hash);

        impl $name {
            /// The id of `bytes`: their blake3 hash.
            pub fn of(bytes: &[u8]) -> $name {
                $name(Hash::of(bytes))
            }

            /// The hash this id wraps.
            pub fn hash(&self) -> Hash {
                self.0
            }

            /// The 64 lowercase hex digits of the id.
            pub fn to_hex(&self) -> String {
                self.0.to_hex()
            }

            /// The first `n` hex digits, for display.
            pub fn short(&self, n: usize) -> String {
                self.0.short(n)
            }

            /// Parses 64 lowercase hex digits.
            pub fn from_hex(s: &str) -> Result<$name, HashParseError> {
                Hash::from_hex(s).map($name)
            }
        }

        impl From<Hash> for $name {
            fn from(h: Hash) -> $name {
                $name(h)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.short(12))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Hash::deserialize(d).map($name)
            }
        }
    };
}

id_type!(
    /// The id of an object in a pack (a blob, tree, model, node group,
    /// node or log chunk): the blake3 hash of its uncompressed bytes.
    ObjectId
);

id_type!(
    /// The id of a snapshot: the blake3 hash of its record's exact bytes
    /// (`snapshots/<id>`).
    SnapshotId
);

id_type!(
    /// The id of an incident record: the blake3 hash of its exact bytes
    /// (`incidents/<id>`).
    IncidentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse_as_their_hash() {
        let o = ObjectId::of(b"hello");
        assert_eq!(
            o.to_string(),
            "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"
        );
        assert_eq!(ObjectId::from_hex(&o.to_hex()).unwrap(), o);
        assert_eq!(format!("{o:?}"), "ObjectId(ea8f163db386)");
        let s = SnapshotId::from(o.hash());
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{}\"", o.to_hex())
        );
        let back: SnapshotId = serde_json::from_str(&format!("\"{s}\"")).unwrap();
        assert_eq!(back, s);
        assert!(SnapshotId::from_hex("EA8F").is_err());
    }
}
