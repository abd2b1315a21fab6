#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer and AddressSanitizer and runs each from its seed corpus in
# Corpus/ for FUZZ_SECONDS (default 60 here). Crashing inputs land in FailCases/. See scripts/fuzz.
set -euo pipefail
FUZZ_SECONDS=${FUZZ_SECONDS:-60} exec bash "$(dirname "$0")/../scripts/fuzz"
