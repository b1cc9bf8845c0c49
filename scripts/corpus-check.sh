#!/usr/bin/env bash
# Graphs every directory holding .tf files under a corpus of real modules
# (default ../shared/corpus) and fails if any of them errors.
# Usage: scripts/corpus-check.sh [CORPUS_DIR] [REWIND_BINARY]
set -euo pipefail
corpus=${1:-../shared/corpus}
bin=${2:-target/release/rewind}
[ -x "$bin" ] || cargo build --release -q -p rewind-cli
dirs=$(find "$corpus" -name '*.tf' -printf '%h\n' | sort -u)
total=0; failed=0; warned=0
for d in $dirs; do
  total=$((total + 1))
  if ! "$bin" graph "$d" --format json > /dev/null 2> /tmp/rewind-corpus.err; then
    failed=$((failed + 1))
    echo "FAIL $d"; sed -n '1,20s/^/    /p' /tmp/rewind-corpus.err
  elif [ -s /tmp/rewind-corpus.err ]; then
    warned=$((warned + 1))
    echo "warnings in $d"; sed -n '1,5s/^/    /p' /tmp/rewind-corpus.err
  fi
done
echo "corpus: $total directories, $failed failed, $warned with warnings"
[ "$failed" -eq 0 ]
