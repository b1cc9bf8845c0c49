//! The edges of a plan's step graph that matter: its transitive reduction.

use rewind_plan::Step;

/// Above this many steps the reduction (a bit set per step) is skipped and
/// every edge is drawn; the drawing says so.
pub(crate) const REDUCE_MAX_STEPS: usize = 20_000;

/// The step graph's edges `(before, after)` (step `before` must finish
/// first), without those another path already implies, and whether the
/// reduction was done (`false`: the plan was too large, every edge is
/// returned).
pub(crate) fn essential_edges(steps: &[Step]) -> (Vec<(usize, usize)>, bool) {
    let all = || {
        steps
            .iter()
            .flat_map(|s| s.after.iter().map(move |&a| (a, s.index)))
            .collect::<Vec<_>>()
    };
    if steps.len() > REDUCE_MAX_STEPS {
        return (all(), false);
    }
    // position of each step index, and an order in which a step's
    // prerequisites come first (a prerequisite is in an earlier wave)
    let n = steps.len();
    let max_index = steps.iter().map(|s| s.index).max().unwrap_or(0);
    let mut pos = vec![usize::MAX; max_index + 1];
    for (i, s) in steps.iter().enumerate() {
        pos[s.index] = i;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (steps[i].wave, steps[i].index));
    let words = n.div_ceil(64);
    // reach[i]: every step that must finish before step i (transitively)
    let mut reach = vec![0u64; n * words];
    let mut out = Vec::new();
    for &i in &order {
        let prereqs: Vec<usize> = steps[i]
            .after
            .iter()
            .filter_map(|&a| pos.get(a).copied().filter(|&p| p != usize::MAX))
            .collect();
        // what the prerequisites already imply
        let mut implied = vec![0u64; words];
        for &p in &prereqs {
            let row = &reach[p * words..(p + 1) * words];
            for (w, r) in implied.iter_mut().zip(row) {
                *w |= r;
            }
        }
        for &p in &prereqs {
            if implied[p / 64] & (1 << (p % 64)) == 0 {
                out.push((steps[p].index, steps[i].index));
            }
        }
        for &p in &prereqs {
            implied[p / 64] |= 1 << (p % 64);
        }
        reach[i * words..(i + 1) * words].copy_from_slice(&implied);
    }
    out.sort_unstable();
    out.dedup();
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_plan::Action;

    fn step(index: usize, wave: usize, after: &[usize]) -> Step {
        Step {
            index,
            address: rewind_model::InstanceAddr::parse(&format!("terraform_data.s{index}"))
                .expect("a valid address"),
            operation: Action::Create,
            deposed: false,
            change: index,
            wave,
            after: after.to_vec(),
        }
    }

    #[test]
    fn implied_edges_are_dropped_and_needed_ones_kept() {
        // 0 -> 1 -> 2, and 0 -> 2 is implied; 3 waits only for 0
        let steps = vec![
            step(0, 0, &[]),
            step(1, 1, &[0]),
            step(2, 2, &[0, 1]),
            step(3, 1, &[0]),
        ];
        let (edges, reduced) = essential_edges(&steps);
        assert!(reduced);
        assert_eq!(edges, vec![(0, 1), (0, 3), (1, 2)]);
    }

    #[test]
    fn a_diamond_keeps_both_sides() {
        let steps = vec![
            step(0, 0, &[]),
            step(1, 1, &[0]),
            step(2, 1, &[0]),
            step(3, 2, &[1, 2, 0]),
        ];
        let (edges, _) = essential_edges(&steps);
        assert_eq!(edges, vec![(0, 1), (0, 2), (1, 3), (2, 3)]);
    }
}
