# Convenience recipes; everything here also works with plain cargo.

default: test

# all tests (the same command CI runs)
test:
    cargo test

# what CI runs
ci:
    .ci/run

# the dependency graph of the bundled application
demo:
    cargo run --release -p rewind-cli -- graph fixtures/apps/shop/v1

# every directory of the shared corpus graphs without error
corpus:
    scripts/corpus-check.sh ../shared/corpus

# the benchmark against git and terraform (1k, 10k, 100k resources); results in bench/results/
bench:
    cargo build --release -p rewind-cli -p rewind-bench
    target/release/rewind-bench run --sizes 1000,10000,100000 --runs 5 --terraform-runs 1

# criterion micro-benchmarks: parser throughput, hashing, pack writing, diff and plan in memory
micro:
    cargo bench -p rewind-bench --bench micro

# fuzz the parsers (stable Rust, no engine to install); failing inputs land in fuzz-failures/
fuzz seconds="300":
    cargo run --release -p rewind-fuzz -- run --seconds {{seconds}} --corpus fixtures --out fuzz-failures

# syntax differential against terraform fmt on mutated .tf files (needs terraform on the PATH)
oracle seconds="300":
    cargo run --release -p rewind-fuzz -- oracle --seconds {{seconds}} --corpus fixtures --out fuzz-failures

# graph every Terraform directory of the public releases in scripts/fidelity/sources.txt (needs local git mirrors); writes docs/fidelity.md
fidelity mirrors:
    cargo build --release -p rewind-cli
    scripts/fidelity/run.py --mirrors {{mirrors}} --terraform terraform
