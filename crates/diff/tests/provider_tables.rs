//! The generated provider tables agree with the providers' sources on a
//! sample. Each expectation below was read in the provider's source at the
//! pinned version (the Go schema, or the registry documentation where the
//! table takes it from there); the comment names where.

use rewind_diff::knowledge::{
    available, data_bearing, ChoiceReason, Coverage, Knowledge, LockedProvider,
};

/// (type, path, forces a new resource?)
const NEWEST: &[(&str, &str, bool)] = &[
    // aws 5.46.0-dev, internal/service/rds/instance.go: engine ForceNew,
    // instance_class updatable
    ("aws_db_instance", "engine", true),
    ("aws_db_instance", "username", true),
    ("aws_db_instance", "instance_class", false),
    ("aws_db_instance", "allocated_storage", false),
    // internal/service/cognitoidp/user_pool_domain.go
    ("aws_cognito_user_pool_domain", "domain", true),
    ("aws_cognito_user_pool_domain", "user_pool_id", true),
    // internal/service/cognitoidp/user_pool_client.go (framework,
    // RequiresReplace on user_pool_id and generate_secret)
    ("aws_cognito_user_pool_client", "user_pool_id", true),
    ("aws_cognito_user_pool_client", "generate_secret", true),
    ("aws_cognito_user_pool_client", "callback_urls", false),
    // internal/service/elbv2/target_group_attachment.go
    ("aws_lb_target_group_attachment", "target_id", true),
    ("aws_lb_target_group_attachment", "target_group_arn", true),
    // internal/service/ec2/ec2_instance.go: nested block attributes
    ("aws_instance", "ami", true),
    ("aws_instance", "instance_type", false),
    ("aws_instance", "ebs_block_device.device_name", true),
    ("aws_instance", "root_block_device.volume_size", false),
    // internal/service/s3/bucket.go
    ("aws_s3_bucket", "bucket", true),
    ("aws_s3_bucket", "force_destroy", false),
    // internal/service/ec2/vpc_security_group.go
    ("aws_security_group", "vpc_id", true),
    ("aws_security_group", "ingress", false),
    // google 7.45.0, google/services/compute/resource_compute_instance.go
    ("google_compute_instance", "name", true),
    ("google_compute_instance", "zone", true),
    ("google_compute_instance", "machine_type", false),
    (
        "google_compute_instance",
        "boot_disk.initialize_params.image",
        true,
    ),
    // google/services/storage/resource_storage_bucket.go
    ("google_storage_bucket", "name", true),
    ("google_storage_bucket", "location", true),
    ("google_storage_bucket", "storage_class", false),
    // google/services/sql/resource_sql_database_instance.go
    ("google_sql_database_instance", "name", true),
    ("google_sql_database_instance", "settings.tier", false),
    // azurerm 5.2.0, internal/services/resource/resource_group_resource.go
    // (location: commonschema.Location(), vendored go-azure-helpers)
    ("azurerm_resource_group", "location", true),
    ("azurerm_resource_group", "name", true),
    ("azurerm_resource_group", "tags", false),
    // internal/services/compute/linux_virtual_machine_resource.go
    ("azurerm_linux_virtual_machine", "admin_username", true),
    ("azurerm_linux_virtual_machine", "size", false),
    // internal/services/storage/storage_account_resource.go
    ("azurerm_storage_account", "name", true),
    ("azurerm_storage_account", "account_tier", true),
    // kubernetes 3.2.1, kubernetes/schema_metadata.go (metadataSchema)
    ("kubernetes_namespace", "metadata.name", true),
    ("kubernetes_namespace", "metadata.labels", false),
    ("kubernetes_secret_v1", "type", true),
    // manifest/provider/plan.go (terraform-plugin-go: resp.RequiresReplace)
    ("kubernetes_manifest", "manifest.metadata.name", true),
    ("kubernetes_manifest", "manifest.kind", true),
    ("kubernetes_manifest", "manifest.spec", false),
    ("kubernetes_secret_v1", "data", false),
    // helm 3.1.2, helm/resource_helm_release.go (framework)
    ("helm_release", "name", true),
    ("helm_release", "namespace", true),
    ("helm_release", "chart", false),
    // random 3.9.0, internal/provider/resource_password.go
    ("random_password", "keepers", true),
    ("random_password", "length", true),
    ("random_pet", "keepers", true),
    ("random_id", "byte_length", true),
    // null 3.3.1, internal/provider/resource.go
    ("null_resource", "triggers", true),
    // tls 4.2.1, internal/provider/resource_private_key.go
    ("tls_private_key", "algorithm", true),
    ("tls_private_key", "rsa_bits", true),
    // time 0.14.0, internal/provider/resource_time_sleep.go / _offset.go
    ("time_sleep", "triggers", true),
    ("time_sleep", "create_duration", false),
    ("time_offset", "offset_days", false),
    // local 2.9.0, internal/provider/resource_local_file.go
    ("local_file", "content", true),
    ("local_file", "filename", true),
    // archive 2.8.0, internal/provider/resource_archive_file.go
    ("archive_file", "output_path", true),
];

#[test]
fn newest_tables_agree_with_the_sources() {
    let k = Knowledge::newest();
    let mut wrong = Vec::new();
    for (ty, path, forces) in NEWEST {
        let provider = ty.split('_').next().unwrap();
        let table = k
            .table(provider)
            .unwrap_or_else(|| panic!("no table for {provider}"));
        let paths = table
            .force_new_paths(ty)
            .unwrap_or_else(|| panic!("{ty} is not in the {provider} table"));
        if paths.contains(path) != *forces {
            wrong.push(format!(
                "{ty}.{path}: the table says {}, the source {}",
                paths.contains(path),
                forces
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_pinned_provider_has_a_table_that_covers_its_resources() {
    let versions = available();
    for p in [
        "aws",
        "azurerm",
        "google",
        "kubernetes",
        "helm",
        "random",
        "null",
        "tls",
        "time",
        "local",
        "archive",
    ] {
        assert!(versions.contains_key(p), "no table for {p}");
    }
    let k = Knowledge::newest();
    // lower bounds on the number of resource types (the providers have
    // more than this many; a generator regression drops below)
    for (p, at_least) in [
        ("aws", 1300),
        ("azurerm", 1000),
        ("google", 1000),
        ("kubernetes", 75),
        ("random", 10),
        ("tls", 4),
        ("time", 4),
        ("local", 2),
    ] {
        let n = k.table(p).map(|t| t.types().count()).unwrap_or(0);
        assert!(n >= at_least, "{p}: {n} types");
    }
    for ty in [
        "null_resource",
        "random_string",
        "random_uuid",
        "aws_cognito_user_pool_client",
        "aws_lb_target_group_attachment",
        "archive_file",
        "helm_release",
    ] {
        assert!(k.coverage(ty).is_known(), "{ty}");
    }
}

#[test]
fn lock_file_versions_pick_the_table() {
    let lock = |name: &str, version: &str| LockedProvider {
        source: format!("registry.terraform.io/hashicorp/{name}"),
        name: name.into(),
        version: version.into(),
    };
    let aws = |version: &str| {
        Knowledge::choose(&[lock("aws", version)])
            .choices()
            .into_iter()
            .find(|c| c.provider == "aws")
            .cloned()
            .unwrap()
    };
    // aws 4.67.0 has a table of its own; 5.31.0 takes 5.5.0's; 6.x the newest
    let c = aws("4.67.0");
    assert_eq!(
        (c.table_version, &c.reason),
        ("4.67.0", &ChoiceReason::Exact)
    );
    let c = aws("5.31.0");
    assert_eq!(
        (c.table_version, &c.reason),
        ("5.5.0", &ChoiceReason::NearestBelow)
    );
    let c = aws("6.2.0");
    assert_eq!(c.table_version, "5.46.0-dev");
    assert_eq!(
        c.to_string(),
        "aws 6.2.0 (lock file): the table of aws 5.46.0-dev, the nearest version below"
    );
    // a type added after aws 4.67: covered by the newer table only
    // (aws_bedrock_model_invocation_logging_configuration came in 5.x)
    let old = Knowledge::choose(&[lock("aws", "4.67.0")]);
    let new = Knowledge::choose(&[lock("aws", "5.46.0")]);
    let ty = "aws_bedrock_model_invocation_logging_configuration";
    assert!(matches!(old.coverage(ty), Coverage::NotInTable { .. }));
    assert!(new.coverage(ty).is_known());
    let note = old.replacement(ty, &[]).note(ty).unwrap();
    assert_eq!(
        note,
        format!(
            "replace-vs-update for {ty} is not known: planned as an update ({ty} is not in the table of aws 4.67.0)"
        )
    );
}

#[test]
fn data_bearing_types_carry_their_protection_settings() {
    let db = data_bearing("aws_db_instance").unwrap();
    assert_eq!(db.severity, "high");
    let guards: Vec<&str> = db.settings_of("guard").collect();
    assert!(guards.contains(&"deletion_protection"), "{guards:?}");
    let fin: Vec<&str> = db.settings_of("final_snapshot").collect();
    assert!(fin.contains(&"skip_final_snapshot"), "{fin:?}");
    assert!(fin.contains(&"final_snapshot_identifier"), "{fin:?}");
    let backup: Vec<&str> = db.settings_of("backup").collect();
    assert!(backup.contains(&"backup_retention_period"), "{backup:?}");
    let restore: Vec<&str> = db.settings_of("restore_from").collect();
    assert!(restore.contains(&"snapshot_identifier"), "{restore:?}");
    let bucket = data_bearing("aws_s3_bucket").unwrap();
    assert!(bucket
        .settings_of("force_destroy")
        .any(|p| p == "force_destroy"));
    let ddb = data_bearing("aws_dynamodb_table").unwrap();
    assert!(ddb
        .settings_of("backup")
        .any(|p| p.starts_with("point_in_time_recovery")));
    let gcs = data_bearing("google_storage_bucket").unwrap();
    assert!(gcs
        .settings_of("force_destroy")
        .any(|p| p == "force_destroy"));
    let sql = data_bearing("google_sql_database_instance").unwrap();
    assert!(sql.settings_of("guard").any(|p| p == "deletion_protection"));
    assert!(data_bearing("azurerm_storage_account").is_some());
    assert!(data_bearing("azurerm_key_vault")
        .unwrap()
        .settings_of("guard")
        .any(|p| p == "purge_protection_enabled"));
    assert!(data_bearing("kubernetes_persistent_volume_claim_v1").is_some());
    assert!(data_bearing("aws_efs_file_system").is_some());
    assert!(data_bearing("aws_sqs_queue").is_some());
    assert!(data_bearing("aws_secretsmanager_secret").is_some());
    // not data: a security group, an IAM role, a bucket policy
    for ty in ["aws_security_group", "aws_iam_role", "aws_s3_bucket_policy"] {
        assert!(data_bearing(ty).is_none(), "{ty}");
    }
}

/// Every table parses, and loading all of them stays cheap (the time is
/// printed: `cargo test --release -p rewind-diff --test provider_tables
/// -- --nocapture every_table`).
#[test]
fn every_table_parses() {
    let start = std::time::Instant::now();
    let mut types = 0;
    for (provider, versions) in available() {
        for v in versions {
            let k = Knowledge::choose(&[LockedProvider {
                source: format!("registry.terraform.io/hashicorp/{provider}"),
                name: provider.to_string(),
                version: v.to_string(),
            }]);
            let c = k
                .choices()
                .into_iter()
                .find(|c| c.provider == provider)
                .unwrap();
            assert_eq!(c.table_version, v);
            let t = k
                .table(provider)
                .unwrap_or_else(|| panic!("{provider} {v} does not parse"));
            assert_eq!(t.version, v);
            assert!(
                t.provider.ends_with(&format!("hashicorp/{provider}")),
                "{}",
                t.provider
            );
            assert!(!t.source.is_empty());
            types += t.types().count();
        }
    }
    eprintln!(
        "every provider table parsed: {types} resource types in {:?}",
        start.elapsed()
    );
}
