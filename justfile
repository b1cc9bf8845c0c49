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
