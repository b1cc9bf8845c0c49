//! Micro-benchmarks on in-memory data: the HCL parser (bytes per second),
//! loading a tree (parse + graph, all cores), hashing, pack writing, the
//! diff and the plan of two generated 10,000-resource versions.
//!
//! `cargo bench -p rewind-bench --bench micro`

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rewind_bench::gen;

fn tree(n: usize, version: u32, td: bool) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rewind-micro-{n}-{version}-{td}"));
    if !dir.join("main.tf").exists() {
        let o = gen::Options {
            resources: n,
            seed: 42,
            terraform_data: td,
        };
        let res = gen::resources(&o);
        if version >= 2 {
            let (v2, moved) = gen::mutate(&res, 42, 1);
            gen::write_tree(&dir, &v2, &o, 2, &moved).unwrap();
        } else {
            gen::write_tree(&dir, &res, &o, 1, &[]).unwrap();
        }
    }
    dir
}

fn tf_files(dir: &Path) -> Vec<String> {
    rewind_parse::discover(dir)
        .unwrap()
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "tf"))
        .map(|(p, _)| std::fs::read_to_string(p).unwrap())
        .collect()
}

fn parser(c: &mut Criterion) {
    let files = tf_files(&tree(10_000, 1, false));
    let bytes: usize = files.iter().map(String::len).sum();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.bench_function("hcl syntax tree, one core", |b| {
        b.iter(|| {
            for f in &files {
                rewind_parse::hcl::parse_body(f).unwrap();
            }
        })
    });
    g.bench_function("file config (values, references), one core", |b| {
        b.iter(|| {
            for f in &files {
                let body = rewind_parse::hcl::parse_body(f).unwrap();
                rewind_parse::config::file_config(&body, f);
            }
        })
    });
    // the whole load: discovery, parsing on every core, modules, references, graph
    let dir = tree(10_000, 1, false);
    let all: u64 = rewind_parse::discover(&dir)
        .unwrap()
        .iter()
        .filter(|(_, k)| k.is_config())
        .map(|(p, _)| std::fs::metadata(p).unwrap().len())
        .sum();
    g.throughput(Throughput::Bytes(all));
    g.bench_function("load: parse + graph, all cores (config only)", |b| {
        b.iter(|| {
            let opts = rewind_parse::Options {
                skip_state: true,
                ..Default::default()
            };
            rewind_parse::load(&dir, &opts).unwrap()
        })
    });
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let data = vec![7u8; 1 << 20];
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("blake3 1 MiB", |b| b.iter(|| rewind_model::Hash::of(&data)));
    g.finish();
}

fn packs(c: &mut Criterion) {
    let objects: Vec<Vec<u8>> = tf_files(&tree(10_000, 1, false))
        .into_iter()
        .map(String::into_bytes)
        .collect();
    let bytes: usize = objects.iter().map(Vec::len).sum();
    let ids: Vec<rewind_odb::ObjectId> = objects
        .iter()
        .map(|o| rewind_odb::ObjectId::of(o))
        .collect();
    let mut g = c.benchmark_group("pack");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.bench_function("write (compressed blocks) and index", |b| {
        b.iter(|| {
            let mut w = rewind_odb::PackWriter::new();
            for (id, o) in ids.iter().zip(&objects) {
                w.add(*id, rewind_odb::ObjType::Blob, o);
            }
            w.finish()
        })
    });
    g.finish();
}

fn models(n: usize) -> (rewind_model::Model, rewind_model::Model) {
    let load = |d: PathBuf| {
        rewind_parse::load(&d, &rewind_parse::Options::default())
            .unwrap()
            .model
    };
    (load(tree(n, 1, false)), load(tree(n, 2, false)))
}

fn diff_and_plan(c: &mut Criterion) {
    let mut g = c.benchmark_group("in memory");
    g.sample_size(10);
    for n in [1_000, 10_000] {
        let (v1, v2) = models(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("diff v1 v2", n), &n, |b, _| {
            b.iter(|| rewind_diff::diff(&v1, &v2, &rewind_diff::Options::default()))
        });
        g.bench_with_input(BenchmarkId::new("plan v2 -> v1", n), &n, |b, _| {
            b.iter(|| {
                rewind_engine::plan_models(&v2, &v1, &rewind_engine::PlanOptions::default())
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parser, hashing, packs, diff_and_plan);
criterion_main!(benches);
