//! `rewind history ADDRESS --env E`: when did this resource change, in
//! which release, and who took and who marked that release good.

use anyhow::{bail, Result};
use rewind_engine::{DiffOptions, StoredVersion, Version};
use rewind_odb::{LogEntry, SnapshotId, SnapshotRecord};
use rewind_report::diff::{DiffReport, SideInfo};
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
        .map(|w| w.to_string())
        .unwrap_or_else(|| "(not recorded)".into())
}

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
    let env = match env {
        Some(e) => e.to_string(),
        None if refs.envs.len() == 1 => refs.envs.keys().next().cloned().unwrap_or_default(),
        None => bail!(
            "name the environment with --env (this store has {})",
            refs.envs.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    let Some(latest) = refs.envs.get(&env).and_then(|e| e.latest) else {
        bail!(
            "no environment named {env:?} (known: {})",
            refs.envs.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let log = store.full_log(&refs)?;
    let mut chain: Vec<(SnapshotId, SnapshotRecord)> = store.history(Some(latest), usize::MAX)?;
    chain.reverse();
    let opts = DiffOptions {
        addresses: vec![
            address.to_string(),
            format!("{address}.*"),
            format!("{address}[*"),
        ],
        ..Default::default()
    };
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
        let taken: Vec<&LogEntry> = log
            .iter()
            .filter(|l| l.name == format!("envs/{env}/latest") && l.new == Some(*b))
            .collect();
        let good: Vec<&LogEntry> = log
            .iter()
            .filter(|l| l.name == format!("envs/{env}/good") && l.new == Some(*b))
            .collect();
        let tags = refs.tags_of(b);
        let report = DiffReport {
            from: SideInfo {
                label: a.short(12),
                id: Some(a.to_hex()),
                tags: refs.tags_of(a),
            },
            to: SideInfo {
                label: b.short(12),
                id: Some(b.to_hex()),
                tags: tags.clone(),
            },
            diff: &d.diff,
            files: None,
        };
        if format == Format::Json {
            let j = rewind_report::diff::json(&report);
            events.push(json!({
                "id": b.to_hex(),
                "parent": a.to_hex(),
                "time": rec.time,
                "tags": tags,
                "message": rec.message,
                "labels": rec.labels,
                "snapshot_by": taken.iter().map(|l| by(l)).collect::<Vec<_>>(),
                "marked_good": good.iter().map(|l| by(l)).collect::<Vec<_>>(),
                "changes": j["changes"],
                "instances": j["instances"],
            }));
            continue;
        }
        events.push(json!(null));
        let marks = if tags.is_empty() {
            String::new()
        } else {
            format!(" ({})", tags.join(", "))
        };
        text.push_str(&format!(
            "{} {}{marks}  {}\n",
            out.style.yellow(&b.short(12)),
            rec.time,
            if rec.message.is_empty() {
                "(no message)"
            } else {
                &rec.message
            }
        ));
        for l in &taken {
            text.push_str(&format!("    snapshot by {}\n", who_text(l)));
        }
        for l in &good {
            text.push_str(&format!(
                "    {} {} by {}: {}\n",
                out.style.green("marked good"),
                l.time,
                who_text(l),
                l.reason
            ));
        }
        for c in d.diff.config.iter().chain(&d.diff.instances) {
            let (head, lines) = rewind_report::diff::change_lines(c);
            text.push_str(&format!("  {}\n", out.style.bold(&head)));
            for line in lines {
                text.push_str(&format!("      {line}\n"));
            }
        }
        text.push('\n');
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
