//! The store commands that name, restore, check and copy snapshots: tag,
//! mark-good, checkout, verify, gc, sync.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rewind_odb::Store;
use serde_json::json;

use crate::cli::{format_for, Format, Global, EXIT_ERROR, EXIT_OK};
use crate::output::Output;

/// The store named by `--store`, `REWIND_STORE` or found around here.
pub fn open_store(g: &Global) -> Result<Store> {
    let loc = Store::locate(g.store.as_deref())?;
    Ok(Store::open(&loc)?.with_actor(rewind_engine::actor_from_env()))
}

pub fn tag(g: &Global, out: &Output, name: &str, reference: &str, force: bool) -> Result<u8> {
    rewind_odb::check_name("tag", name)?;
    let store = open_store(g)?;
    let id = store.resolve(reference)?;
    out.ref_note(&store, reference);
    store.tag(name, id, force)?;
    out.note(&format!("tagged {} as {name}", id.short(12)));
    Ok(EXIT_OK)
}

/// `rewind tag` without arguments: every tag and the snapshot it names.
pub fn list_tags(g: &Global, out: &Output) -> Result<u8> {
    let format = format_for(g, "tag", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let refs = store.refs()?;
    if format == Format::Json {
        let v: serde_json::Map<String, serde_json::Value> = refs
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.to_hex())))
            .collect();
        out.print(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        return Ok(EXIT_OK);
    }
    if refs.tags.is_empty() {
        out.note("no tags yet");
    }
    let width = refs.tags.keys().map(|k| k.len()).max().unwrap_or(0);
    let text: String = refs
        .tags
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {}\n", out.style.yellow(&v.short(12))))
        .collect();
    out.print(&text)?;
    Ok(EXIT_OK)
}

/// `rewind envs`: each environment, its latest and known-good snapshots.
pub fn envs(g: &Global, out: &Output) -> Result<u8> {
    let format = format_for(g, "envs", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let refs = store.refs()?;
    if format == Format::Json {
        let v: serde_json::Map<String, serde_json::Value> = refs
            .envs
            .iter()
            .map(|(k, e)| {
                (
                    k.clone(),
                    json!({"latest": e.latest.map(|h| h.to_hex()), "good": e.good.map(|h| h.to_hex())}),
                )
            })
            .collect();
        out.print(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        return Ok(EXIT_OK);
    }
    if refs.envs.is_empty() {
        out.note("no environments yet: `rewind snapshot DIR --env NAME` makes one");
    }
    let width = refs.envs.keys().map(|k| k.len()).max().unwrap_or(0);
    let short =
        |h: Option<rewind_odb::SnapshotId>| h.map(|h| h.short(12)).unwrap_or_else(|| "-".into());
    let text: String = refs
        .envs
        .iter()
        .map(|(k, e)| {
            format!(
                "{k:<width$}  latest {}  good {}\n",
                out.style.yellow(&short(e.latest)),
                out.style.green(&short(e.good))
            )
        })
        .collect();
    out.print(&text)?;
    Ok(EXIT_OK)
}

pub fn mark_good(
    g: &Global,
    out: &Output,
    reference: &str,
    env: Option<&str>,
    message: &str,
    force: bool,
) -> Result<u8> {
    if let Some(env) = env {
        rewind_odb::check_name("environment", env)?;
    }
    let store = open_store(g)?;
    let id = store.resolve(reference)?;
    out.ref_note(&store, reference);
    let env = match env {
        Some(e) => e.to_string(),
        None => store.record(&id)?.env,
    };
    store.mark_good_because(&env, id, force, message)?;
    out.note(&format!("marked {} known-good for {env}", id.short(12)));
    Ok(EXIT_OK)
}

pub fn checkout(g: &Global, out: &Output, reference: &str, dir: &Path, force: bool) -> Result<u8> {
    let store = open_store(g)?;
    let id = store.resolve(reference)?;
    out.ref_note(&store, reference);
    let report = rewind_engine::checkout(&store, &id, dir, force)
        .with_context(|| format!("checking out {} into {}", id.short(12), dir.display()))?;
    let rec = store.record(&id)?;
    let root = if rec.root.is_empty() {
        String::new()
    } else {
        format!("; the root module is {}", dir.join(&rec.root).display())
    };
    for r in &report.removed {
        out.note(&format!("removed {r} (not in the snapshot)"));
    }
    let removed = match report.removed.len() {
        0 => String::new(),
        1 => ", 1 file removed".to_string(),
        n => format!(", {n} files removed"),
    };
    out.note(&format!(
        "checked out {} into {}: {} files, {} bytes{removed}{root}",
        id.short(12),
        dir.display(),
        report.written.files,
        report.written.bytes
    ));
    Ok(EXIT_OK)
}

pub fn verify(g: &Global, out: &Output, repair: bool) -> Result<u8> {
    let format = format_for(g, "verify", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    if repair {
        let rep = store.repair_refs()?;
        if rep.repaired {
            out.note(&format!(
                "repaired the refs ({}): {} ref-log entries recovered",
                rep.reason, rep.log_entries
            ));
            for r in &rep.restored {
                out.note(&format!("restored {r}"));
            }
        } else {
            out.note("the refs read fine: nothing to repair");
        }
    }
    let r = store.verify()?;
    if format == Format::Json {
        out.print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"ok": r.ok(), "problems": r.problems, "notes": r.notes, "packs": r.packs, "objects": r.objects, "snapshots": r.snapshots, "bytes": r.bytes, "limited": r.limited}))?
        ))?;
    } else {
        for n in &r.notes {
            out.note(&format!("note: {n}"));
        }
        if let Some(l) = &r.limited {
            out.note(&format!("note: structure only: {l}"));
        }
        for p in &r.problems {
            crate::output::to_stderr(&format!(
                "{} {}",
                out.err_style.red("problem:"),
                rewind_report::style::terminal_safe(p, false)
            ));
        }
        let summary = format!(
            "{}: {} packs, {} objects, {} snapshots, {} bytes checked",
            store.describe(),
            r.packs,
            r.objects,
            r.snapshots,
            r.bytes
        );
        if r.ok() && r.limited.is_some() {
            out.print(&format!(
                "{summary}: ok (structure only: encrypted, verified without its key)\n"
            ))?;
        } else if r.ok() {
            out.print(&format!("{summary}: ok\n"))?;
        } else {
            out.print(&format!(
                "{summary}: {} problem{}\n",
                r.problems.len(),
                if r.problems.len() == 1 { "" } else { "s" }
            ))?;
        }
    }
    Ok(if r.ok() { EXIT_OK } else { EXIT_ERROR })
}

/// Parses `30s`, `10m`, `1h`, `2d` (or plain seconds).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .with_context(|| format!("invalid duration {s:?} (use e.g. 30s, 10m, 1h, 2d)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("invalid duration {s:?} (use e.g. 30s, 10m, 1h, 2d)"),
    };
    Ok(Duration::from_secs(secs))
}

pub fn gc(g: &Global, out: &Output, grace: &str, dry_run: bool) -> Result<u8> {
    let grace = parse_duration(grace)?;
    let store = open_store(g)?;
    let r = store.gc(grace, dry_run)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    out.print(&format!(
        "{verb} {} snapshot records, {} objects ({} bytes), {} packs{}; {} objects kept\n",
        r.removed_snapshots,
        r.removed_objects,
        r.removed_bytes,
        r.removed_packs,
        if r.written_packs > 0 {
            format!(" (live objects repacked into {} new)", r.written_packs)
        } else {
            String::new()
        },
        r.kept_objects
    ))?;
    Ok(EXIT_OK)
}

/// `rewind rekey`: the keys rotated (every pack re-sealed), or with
/// `--rewrap-only` wrapped again with the new key.
pub fn rekey(
    g: &Global,
    out: &Output,
    new_key_file: Option<&Path>,
    new_kms_key: Option<String>,
    rewrap_only: bool,
) -> Result<u8> {
    if new_key_file.is_some() || new_kms_key.is_some() {
        for var in ["REWIND_NEW_KEY", "REWIND_NEW_KEY_FILE"] {
            if std::env::var_os(var).is_some() {
                anyhow::bail!(
                    "{var} is set and {} is given: which is the new key? Give one",
                    if new_key_file.is_some() {
                        "--new-key-file"
                    } else {
                        "--new-kms-key"
                    }
                );
            }
        }
    }
    let new = match (new_key_file, new_kms_key) {
        (Some(p), _) => rewind_odb::UserKey::from_file(p)?,
        (None, Some(id)) => rewind_odb::UserKey::Kms { key_id: id },
        (None, None) => rewind_odb::UserKey::from_vars("REWIND_NEW_KEY", "REWIND_NEW_KEY_FILE")?
            .ok_or_else(|| {
                anyhow::anyhow!("rekey needs the new key: set REWIND_NEW_KEY or REWIND_NEW_KEY_FILE, or use --new-key-file FILE or --new-kms-key KEY_ID (the current key comes from REWIND_KEY or REWIND_KEY_FILE)")
            })?,
    };
    let store = open_store(g)?;
    let desc = store.describe();
    if rewrap_only {
        store.rekey(&new)?;
        out.note(&format!(
            "{desc}: the keys are now wrapped by {} only; the old key no longer opens the store (snapshots, objects and packs are unchanged: whoever unwrapped the keys with the old key still reads them; `rewind rekey` without --rewrap-only rotates them)",
            new.origin()
        ));
        return Ok(EXIT_OK);
    }
    let r = store.rotate_key(&new)?;
    out.note(&format!(
        "{desc}: keys rotated to sealing key generation {}: {} objects re-sealed into {} new packs ({} bytes), {} old packs deleted{}{}; the store opens with {} only, and no key from before the rotation opens its packs (snapshot and object ids are unchanged)",
        r.generation,
        r.objects,
        r.written_packs,
        r.bytes,
        r.removed_packs,
        if r.removed_unindexed > 0 {
            format!(" with {} left by interrupted writes", r.removed_unindexed)
        } else {
            String::new()
        },
        if r.caches_dropped.is_empty() {
            String::new()
        } else {
            format!("; local caches sealed with the old key dropped: {}", r.caches_dropped.join(", "))
        },
        new.origin()
    ));
    if r.unindexed_left > 0 {
        out.note(&format!(
            "note: {} packs without an index were left (a remote store has no lock: they may be a running snapshot's); `rewind gc` removes them once they are older than its grace period",
            r.unindexed_left
        ));
    }
    Ok(EXIT_OK)
}

pub fn sync(g: &Global, out: &Output, from: &str, to: &str) -> Result<u8> {
    let format = format_for(g, "sync", &[Format::Text, Format::Json], Format::Text)?;
    let src = Store::open(from).with_context(|| format!("opening the source store {from}"))?;
    let dst = Store::open(to)
        .with_context(|| format!("opening the destination store {to}"))?
        .with_actor(rewind_engine::actor_from_env());
    let r = src.sync_to(&dst)?;
    for w in &r.warnings {
        out.note(&format!("warning: {w}"));
    }
    if format == Format::Json {
        out.print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"snapshots": r.snapshots, "objects": r.objects, "bytes": r.bytes, "refs": r.refs, "warnings": r.warnings}))?
        ))?;
    } else {
        out.print(&format!(
            "copied {} snapshots and {} objects ({} bytes) from {} to {}; refs updated: {}\n",
            r.snapshots,
            r.objects,
            r.bytes,
            src.describe(),
            dst.describe(),
            if r.refs.is_empty() {
                "none".to_string()
            } else {
                r.refs.join(", ")
            }
        ))?;
    }
    Ok(EXIT_OK)
}
