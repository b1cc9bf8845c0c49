//! A small ordered map: entries in one sorted vector.
//!
//! Configuration and state values are mostly small maps (a block's
//! attributes, tags, a nested block). `BTreeMap` allocates a node for eleven
//! entries even for one (over 600 bytes for `String` keys and [`Value`]s),
//! which made the model of 100,000 resources several times larger than it
//! needs to be, and a large model is slow to build on any machine (every new
//! page is zeroed by the kernel). `Map` stores exactly its entries, keeps
//! them sorted by key (iteration order is the same as `BTreeMap`'s), and
//! finds a key by binary search. Inserting into a large map one key at a
//! time is linear per insert; building one from an iterator sorts once.
//!
//! [`Value`]: crate::Value

use std::borrow::Borrow;
use std::fmt;

/// An ordered map stored as a sorted vector of entries (see the module
/// documentation).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Map<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map {
            entries: Vec::new(),
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Ord, V> Map<K, V> {
    pub const fn new() -> Self {
        Map {
            entries: Vec::new(),
        }
    }

    pub fn with_capacity(n: usize) -> Self {
        Map {
            entries: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries the map can hold without reallocating.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| {
            let (k, v) = &self.entries[i];
            (k, v)
        })
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self.find(key) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self.find(key) {
            Ok(i) => Some(self.entries.remove(i).1),
            Err(_) => None,
        }
    }

    /// The entry for `key`, to read, insert into or change in place.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        match self.find(&key) {
            Ok(i) => Entry::Occupied(&mut self.entries[i].1),
            Err(i) => Entry::Vacant(VacantEntry {
                map: self,
                index: i,
                key,
            }),
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            inner: self.entries.iter(),
        }
    }

    pub fn iter_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&K, &mut V)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator {
        self.entries.into_iter().map(|(k, _)| k)
    }

    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.entries.into_iter().map(|(_, v)| v)
    }

    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }

    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.entries.last().map(|(k, v)| (k, v))
    }

    /// Moves every entry of `other` in (its values win on equal keys).
    pub fn append(&mut self, other: &mut Map<K, V>) {
        let taken = std::mem::take(&mut other.entries);
        self.extend(taken);
    }
}

/// A place in a [`Map`].
pub enum Entry<'a, K, V> {
    Occupied(&'a mut V),
    Vacant(VacantEntry<'a, K, V>),
}

/// A key not in a [`Map`], and where it goes.
pub struct VacantEntry<'a, K, V> {
    map: &'a mut Map<K, V>,
    index: usize,
    key: K,
}

impl<'a, K, V> VacantEntry<'a, K, V> {
    pub fn insert(self, value: V) -> &'a mut V {
        self.map.entries.insert(self.index, (self.key, value));
        &mut self.map.entries[self.index].1
    }
}

impl<'a, K, V> Entry<'a, K, V> {
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        match self {
            Entry::Occupied(v) => v,
            Entry::Vacant(e) => e.insert(make()),
        }
    }

    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }

    pub fn and_modify(self, f: impl FnOnce(&mut V)) -> Self {
        match self {
            Entry::Occupied(v) => {
                f(v);
                Entry::Occupied(v)
            }
            vacant => vacant,
        }
    }
}

/// Borrowing iterator over a [`Map`], in key order.
#[derive(Clone)]
pub struct Iter<'a, K, V> {
    inner: std::slice::Iter<'a, (K, V)>,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<'a, K: Ord, V> IntoIterator for &'a Map<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K, V> IntoIterator for Map<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for Map<K, V> {
    /// Sorts once; of equal keys the last one wins (as with `BTreeMap`).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        if !entries.windows(2).all(|w| w[0].0 < w[1].0) {
            // stable: equal keys keep their order, so the last is the newest
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(K, V)> = Vec::with_capacity(entries.len());
            for e in entries {
                match out.last_mut() {
                    Some(last) if last.0 == e.0 => *last = e,
                    _ => out.push(e),
                }
            }
            entries = out;
        }
        Map {
            entries: exact(entries),
        }
    }
}

/// `v` in an allocation of exactly its length. `Vec::shrink_to_fit` asks
/// the allocator to shrink in place, and mimalloc (the binary's
/// allocator) keeps a block that is at least half used as it is: a list
/// grown one push at a time (4, 8, 16... entries) kept up to half its
/// memory spare. This moves the elements to a new block of the right size
/// instead, when there is spare room. For what a model keeps for the
/// whole command (bodies, edges, state values), not for short-lived lists.
pub fn exact<T>(v: Vec<T>) -> Vec<T> {
    if v.capacity() == v.len() {
        return v;
    }
    let mut out = Vec::with_capacity(v.len());
    out.extend(v);
    out
}

impl<K, V> Map<K, V> {
    /// The map in an allocation of exactly its entries (see [`exact`]).
    pub fn exact(self) -> Self {
        Map {
            entries: exact(self.entries),
        }
    }
}

impl<K: Ord, V> Extend<(K, V)> for Map<K, V> {
    /// Appends, then sorts once when the new keys were not in order (so a
    /// large extend in any order is not one insertion after another); of
    /// equal keys the newest wins.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let start = self.entries.len();
        self.entries.extend(iter);
        let sorted_from = start.saturating_sub(1);
        if self.entries[sorted_from..]
            .windows(2)
            .all(|w| w[0].0 < w[1].0)
        {
            return;
        }
        let entries = std::mem::take(&mut self.entries);
        *self = entries.into_iter().collect();
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for Map<K, V> {
    fn from(items: [(K, V); N]) -> Self {
        items.into_iter().collect()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for Map<K, V> {
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

#[cfg(test)]
mod tests {
    use super::Map;

    #[test]
    fn exact_keeps_the_elements_in_a_block_of_their_size() {
        let mut v: Vec<String> = Vec::new();
        for i in 0..5 {
            v.push(i.to_string());
        }
        assert!(v.capacity() > v.len(), "grown one push at a time");
        let v = super::exact(v);
        assert_eq!(v, ["0", "1", "2", "3", "4"]);
        assert_eq!(v.capacity(), 5);
        let m: Map<String, i32> = [("b".to_string(), 2), ("a".to_string(), 1)]
            .into_iter()
            .chain((0..3).map(|i| (format!("k{i}"), i)))
            .collect();
        let m = m.exact();
        assert_eq!(m.capacity(), m.len());
        assert_eq!(
            m.keys().cloned().collect::<Vec<_>>(),
            ["a", "b", "k0", "k1", "k2"]
        );
    }

    #[test]
    fn behaves_like_an_ordered_map() {
        let mut m: Map<String, i32> = Map::new();
        assert_eq!(m.insert("b".into(), 2), None);
        assert_eq!(m.insert("a".into(), 1), None);
        assert_eq!(m.insert("c".into(), 3), None);
        assert_eq!(m.insert("b".into(), 20), Some(2));
        assert_eq!(
            m.keys().map(String::as_str).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(m.get("b"), Some(&20));
        assert!(m.contains_key("c") && !m.contains_key("d"));
        *m.entry("d".into()).or_insert(0) += 4;
        *m.entry("a".into()).or_insert(0) += 10;
        assert_eq!(m["a"], 11);
        assert_eq!(m.remove("c"), Some(3));
        m.retain(|k, _| k != "d");
        assert_eq!(
            m.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
            [("a", 11), ("b", 20)]
        );
        // collected: sorted once, the last of equal keys wins
        let c: Map<&str, i32> = [("z", 1), ("x", 2), ("z", 3), ("y", 4)]
            .into_iter()
            .collect();
        assert_eq!(
            c.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            [("x", 2), ("y", 4), ("z", 3)]
        );
        let mut a: Map<i32, i32> = [(1, 1), (3, 3)].into();
        let mut b: Map<i32, i32> = [(2, 2), (3, 30)].into();
        a.append(&mut b);
        assert!(b.is_empty());
        assert_eq!(a.into_iter().collect::<Vec<_>>(), [(1, 1), (2, 2), (3, 30)]);
        // extended in order, out of order, and with a key already present
        let mut e: Map<i32, i32> = [(5, 5)].into();
        e.extend([(6, 6), (7, 7)]);
        e.extend([(1, 1), (6, 60), (0, 0), (1, 10)]);
        assert_eq!(
            e.into_iter().collect::<Vec<_>>(),
            [(0, 0), (1, 10), (5, 5), (6, 60), (7, 7)]
        );
        // a large extend in reverse order is one sort, not n insertions
        let mut big: Map<u32, u32> = Map::new();
        big.extend((0..200_000).rev().map(|i| (i, i)));
        assert_eq!(big.len(), 200_000);
        assert_eq!(big.first_key_value(), Some((&0, &0)));
    }

    #[test]
    fn orders_and_hashes_like_its_entries() {
        let a: Map<String, i32> = [("a".to_string(), 1)].into();
        let b: Map<String, i32> = [("a".to_string(), 2)].into();
        assert!(a < b);
        assert_eq!(a, a.clone());
    }
}
