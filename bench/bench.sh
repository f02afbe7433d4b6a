#!/usr/bin/env bash
# `npm run bench [-- --quick]`: raise the open-file limit for the connections scenario (its
# children inherit it), then run the bench with Bun. Loopback only; every process it starts
# stops by itself or is killed when its measurement ends.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
exec ./node_modules/.bin/bun bench/run.ts "$@"
