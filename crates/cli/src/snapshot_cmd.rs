//! `rewind init` and `rewind snapshot`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use rewind_engine::{SnapshotOptions, SnapshotOutcome};
use rewind_odb::Store;
use serde_json::json;

use crate::cli::{format_for, Format, Global, EXIT_OK};
use crate::history_cmd::record_json;
use crate::output::Output;
use crate::store_cmds::open_store;

/// `rewind init`'s options.
pub struct InitArgs {
    pub encrypt: bool,
    pub kms_key: Option<String>,
    pub generate_key: Option<std::path::PathBuf>,
    pub encrypt_like: Option<String>,
}

/// Writes a new random key to `path`, which must not exist (mode 0600).
fn write_new_key(path: &Path) -> Result<rewind_odb::UserKey> {
    use std::io::Write as _;
    let text = rewind_odb::generate_key_text()?;
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut f = open
        .open(path)
        .map_err(|e| anyhow!("cannot create the key file {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| anyhow!("cannot write the key file {}: {e}", path.display()))?;
    Ok(rewind_odb::UserKey::from_file(path)?)
}

pub fn init(g: &Global, out: &Output, args: &InitArgs) -> Result<u8> {
    let loc = match (&g.store, std::env::var("REWIND_STORE")) {
        (Some(s), _) => s.clone(),
        (None, Ok(s)) if !s.is_empty() => s,
        _ => ".rewind".to_string(),
    };
    let encrypt = if !args.encrypt {
        None
    } else if let Some(id) = &args.kms_key {
        Some(rewind_odb::UserKey::Kms { key_id: id.clone() })
    } else if let Some(path) = &args.generate_key {
        if rewind_odb::UserKey::from_env()?.is_some() {
            bail!("--generate-key makes a new key, but REWIND_KEY or REWIND_KEY_FILE is set: unset it, or leave --generate-key out to encrypt with it");
        }
        if let Ok(store) = Store::open(&loc) {
            bail!(
                "a rewind store already exists in {}: it was left as it is, and no key was written (a new key would not open it; it opens with the key it was created with)",
                store.describe()
            );
        }
        Some(write_new_key(path)?)
    } else {
        Some(rewind_odb::UserKey::from_env()?.ok_or_else(|| {
            anyhow!("--encrypt needs a key: set REWIND_KEY (a key or passphrase) or REWIND_KEY_FILE (a file holding one), or use --generate-key FILE or --kms-key KEY_ID")
        })?)
    };
    let opts = rewind_odb::InitOptions {
        encrypt,
        encrypt_like: args.encrypt_like.clone(),
    };
    let wanted_encryption = args.encrypt || args.encrypt_like.is_some();
    if !wanted_encryption && rewind_odb::UserKey::from_env()?.is_some() {
        // a key in the environment and a new store without encryption: the
        // store could not be used with that key, and its secrets would be
        // stored in the clear
        match Store::open(&loc) {
            Ok(store) => {
                out.note(&format!(
                    "a rewind store already exists in {}: left as it is",
                    store.describe()
                ));
                return Ok(EXIT_OK);
            }
            Err(rewind_odb::Error::NoStore(_)) => bail!(
                "REWIND_KEY or REWIND_KEY_FILE is set: use `rewind init --encrypt` to create an encrypted store with it (or unset it for a store without encryption)"
            ),
            Err(e) => return Err(e.into()),
        }
    }
    // as `git init`: an existing store is left as it is, and that is not an
    // error (a pipeline may run `rewind init` every time)
    match Store::init_with(&loc, &opts) {
        Ok(store) => out.note(&format!(
            "initialized an empty {}rewind store in {}",
            if wanted_encryption { "encrypted " } else { "" },
            store.describe()
        )),
        Err(rewind_odb::Error::StoreExists(_)) => {
            let store = Store::open(&loc)?;
            let encrypted = store.encryption() != rewind_odb::Encrypted::No;
            if wanted_encryption && !encrypted {
                bail!(
                    "a rewind store without encryption already exists in {}: it was left as it is (a store cannot be encrypted afterwards; create a new one and snapshot into it)",
                    store.describe()
                );
            }
            if let Some(like) = &args.encrypt_like {
                let theirs = Store::open(like)?.encryption();
                if !matches!(theirs, rewind_odb::Encrypted::Unlocked(_))
                    || store.encryption() != theirs
                {
                    bail!(
                        "a rewind store already exists in {} and does not share the data key of {like}: it was left as it is (`sync` between them would be refused; --encrypt-like makes a new store)",
                        store.describe()
                    );
                }
            }
            out.note(&format!(
                "a rewind store already exists in {}: left as it is",
                store.describe()
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(path) = &args.generate_key {
        out.note(&format!(
            "the key is in {}: keep a copy somewhere safe (without it the store cannot be read), and give it to rewind with REWIND_KEY_FILE={}",
            path.display(),
            path.display()
        ));
    }
    Ok(EXIT_OK)
}

/// `--label KEY=VALUE` arguments.
fn parse_labels(labels: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for l in labels {
        let Some((k, v)) = l.split_once('=') else {
            bail!("label {l:?} is not KEY=VALUE");
        };
        if k.is_empty() {
            bail!("label {l:?} has an empty key");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// The arguments of `rewind snapshot`.
pub struct SnapshotArgs<'a> {
    pub dir: &'a Path,
    pub env: String,
    pub tags: Vec<String>,
    pub message: String,
    pub labels: &'a [String],
    pub force: bool,
    pub allow_empty: bool,
    pub inputs: &'a crate::inputs_args::InputArgs,
}

pub fn snapshot(g: &Global, out: &Output, a: SnapshotArgs) -> Result<u8> {
    let format = format_for(g, "snapshot", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let opts = SnapshotOptions {
        env: a.env,
        tags: a.tags,
        force_tag: a.force,
        message: a.message,
        labels: parse_labels(a.labels)?,
        inputs: a.inputs.to_inputs()?,
        allow_empty: a.allow_empty,
        source: None,
    };
    let outcome = rewind_engine::snapshot(&store, a.dir, &opts).map_err(|e| match e {
        rewind_engine::Error::Load(f) => {
            out.diagnostics(&f.diagnostics);
            anyhow!("{f}; nothing was stored")
        }
        e => e.into(),
    })?;
    out.diagnostics(&outcome.diagnostics);
    let text = match format {
        Format::Json => {
            let mut v = record_json(&outcome.id, &outcome.record, &opts.tags);
            v["new_objects"] = json!(outcome.written.objects);
            v["new_bytes"] = json!(outcome.written.bytes);
            v["unchanged"] = json!(outcome.unchanged);
            v["requests"] = json!(store.requests());
            v["state"] = crate::history_cmd::state_json(outcome.state.as_ref());
            v["lineage_changed_from"] = json!(outcome.lineage_changed);
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        _ => summary(out, a.dir, &opts.tags, &outcome),
    };
    out.print(&text)?;
    Ok(EXIT_OK)
}

/// The one line `snapshot` prints.
fn summary(out: &Output, dir: &Path, tags: &[String], outcome: &SnapshotOutcome) -> String {
    let r = &outcome.record;
    let tag_text = if tags.is_empty() {
        String::new()
    } else {
        format!(", tagged {}", tags.join(", "))
    };
    let what = if outcome.unchanged {
        "unchanged since the last snapshot".to_string()
    } else {
        format!(
            "{} new objects, {} bytes",
            outcome.written.objects, outcome.written.bytes
        )
    };
    format!(
        "snapshot {} of {} in {}{tag_text}: {} files, {} resources, {} instances ({what})\n",
        out.style.yellow(&outcome.id.short(12)),
        dir.display(),
        r.env,
        r.files,
        r.resources,
        r.instances
    )
}
