//! `rewind history ADDRESS --env E`: when did this resource change, in
//! which release, and who took and who marked that release good.

use anyhow::{bail, Result};
use rewind_engine::{DiffOptions, DiffOutcome, StoredVersion, Version};
use rewind_odb::{LogEntry, Refs, SnapshotId, SnapshotRecord};
use rewind_report::diff::{DiffReport, SideInfo};
use rewind_report::style::one_line;
use serde_json::json;

use crate::cli::{format_for, Format, Global, EXIT_OK};
use crate::output::Output;
use crate::store_cmds::open_store;

/// A ref-log entry as `who (time): reason`.
fn by(l: &LogEntry) -> serde_json::Value {
    json!({"time": l.time, "who": l.who, "reason": l.reason})
}

fn who_text(l: &LogEntry) -> String {
    l.who
        .as_ref()
        .map(|w| one_line(&w.to_string()).into_owned())
        .unwrap_or_else(|| "(not recorded)".into())
}

/// `rewind history ADDRESS`: the snapshots of the environment's chain
/// (newest first, at most `limit`) whose diff from their parent touches
/// the address (or anything under it), with who took and who marked them.
pub fn history(
    g: &Global,
    out: &Output,
    address: &str,
    env: Option<&str>,
    limit: Option<usize>,
) -> Result<u8> {
    let format = format_for(g, "history", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let refs = store.refs()?;
    let (env, latest) = environment(&refs, env)?;
    let log = store.full_log(&refs)?;
    let mut chain: Vec<(SnapshotId, SnapshotRecord)> = store.history(Some(latest), usize::MAX)?;
    chain.reverse();
    let opts = address_filter(address);
    let mut events = Vec::new();
    let mut text = String::new();
    let side = |id: &SnapshotId| -> Result<Version<'_>> {
        Ok(Version::Snapshot(StoredVersion::new(&store, *id)?))
    };
    for pair in chain.windows(2).rev() {
        if events.len() >= limit.unwrap_or(usize::MAX) {
            break;
        }
        let ((a, _), (b, rec)) = (&pair[0], &pair[1]);
        let d = rewind_engine::diff(&side(a)?, &side(b)?, &opts).map_err(|e| out.failed(e))?;
        if d.is_empty() {
            continue;
        }
        let change = Change {
            parent: a,
            id: b,
            rec,
            diff: &d,
            taken: entries(&log, &format!("envs/{env}/latest"), b),
            good: entries(&log, &format!("envs/{env}/good"), b),
            tags: refs.tags_of(b),
        };
        if format == Format::Json {
            events.push(change.json(&refs));
            continue;
        }
        events.push(json!(null));
        text.push_str(&change.text(out));
    }
    if format == Format::Json {
        out.print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({
                "address": address,
                "env": env,
                "snapshots": chain.len(),
                "changes": events,
            }))?
        ))?;
    } else {
        let head = format!(
            "history of {address} in {env}: {} of {} snapshots changed it, newest first\n\n",
            events.len(),
            chain.len()
        );
        out.print(&(head + &text))?;
    }
    Ok(EXIT_OK)
}

/// The environment asked for (the store's only one when not named) and
/// its latest snapshot.
fn environment(refs: &Refs, env: Option<&str>) -> Result<(String, SnapshotId)> {
    let known = || refs.envs.keys().cloned().collect::<Vec<_>>().join(", ");
    let env = match env {
        Some(e) => e.to_string(),
        None if refs.envs.len() == 1 => refs.envs.keys().next().cloned().unwrap_or_default(),
        None => bail!(
            "name the environment with --env (this store has {})",
            known()
        ),
    };
    let Some(latest) = refs.envs.get(&env).and_then(|e| e.latest) else {
        bail!("no environment named {env:?} (known: {})", known());
    };
    Ok((env, latest))
}

/// The diff filter of an address: the address itself, its instances and
/// anything under it.
fn address_filter(address: &str) -> DiffOptions {
    DiffOptions {
        addresses: vec![
            address.to_string(),
            format!("{address}.*"),
            format!("{address}[*"),
        ],
        ..Default::default()
    }
}

/// The ref-log entries that moved the ref `name` to `id`.
fn entries<'a>(log: &'a [LogEntry], name: &str, id: &SnapshotId) -> Vec<&'a LogEntry> {
    log.iter()
        .filter(|l| l.name == name && l.new == Some(*id))
        .collect()
}

/// A snapshot that changed the address: its diff from its parent and
/// the ref-log entries that took it and marked it good.
struct Change<'a> {
    parent: &'a SnapshotId,
    id: &'a SnapshotId,
    rec: &'a SnapshotRecord,
    diff: &'a DiffOutcome,
    /// Entries of `envs/ENV/latest` that moved to it.
    taken: Vec<&'a LogEntry>,
    /// Entries of `envs/ENV/good` that moved to it.
    good: Vec<&'a LogEntry>,
    tags: Vec<String>,
}

impl Change<'_> {
    /// The change as JSON: the snapshot, its refs' entries and the diff's
    /// changes and instances.
    fn json(&self, refs: &Refs) -> serde_json::Value {
        let (a, b, rec) = (self.parent, self.id, self.rec);
        let report = DiffReport {
            from: SideInfo {
                label: a.short(12),
                id: Some(a.to_hex()),
                tags: refs.tags_of(a),
            },
            to: SideInfo {
                label: b.short(12),
                id: Some(b.to_hex()),
                tags: self.tags.clone(),
            },
            diff: &self.diff.diff,
            files: None,
        };
        let j = rewind_report::diff::json(&report);
        json!({
            "id": b.to_hex(),
            "parent": a.to_hex(),
            "time": rec.time,
            "tags": self.tags,
            "message": rec.message,
            "labels": rec.labels,
            "snapshot_by": self.taken.iter().map(|l| by(l)).collect::<Vec<_>>(),
            "marked_good": self.good.iter().map(|l| by(l)).collect::<Vec<_>>(),
            "changes": j["changes"],
            "instances": j["instances"],
        })
    }

    /// The change as text: the snapshot's line, who took it and marked it
    /// good, and its changes, then a blank line.
    fn text(&self, out: &Output) -> String {
        let rec = self.rec;
        let mut text = String::new();
        let marks = if self.tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.tags.join(", "))
        };
        text.push_str(&format!(
            "{} {}{marks}  {}\n",
            out.style.yellow(&self.id.short(12)),
            rec.time,
            if rec.message.is_empty() {
                "(no message)".into()
            } else {
                one_line(&rec.message)
            }
        ));
        for l in &self.taken {
            text.push_str(&format!("    snapshot by {}\n", who_text(l)));
        }
        for l in &self.good {
            text.push_str(&format!(
                "    {} {} by {}: {}\n",
                out.style.green("marked good"),
                l.time,
                who_text(l),
                one_line(&l.reason)
            ));
        }
        let d = &self.diff.diff;
        for c in d.config.iter().chain(&d.instances) {
            let (head, lines) = rewind_report::diff::change_lines(c);
            text.push_str(&format!("  {}\n", out.style.bold(&head)));
            for line in lines {
                text.push_str(&format!("      {line}\n"));
            }
        }
        text.push('\n');
        text
    }
}
