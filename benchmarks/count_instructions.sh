#!/usr/bin/env bash
# CPU instructions one pass of detection.parse over the corpus costs, counted by valgrind.
#
# Usage: benchmarks/count_instructions.sh [CORPUS_DIR]
# Unlike wall-clock time on a shared machine, the count repeats to within ~0.1 %: the way to
# see a 1 % change. It runs the parse loop for 1 and for 3 passes and prints half the
# difference, so start-up and imports cancel out. PYTHONHASHSEED is fixed because string
# hashing changes dict and set work from run to run. Needs valgrind (apt-get install
# valgrind); about 30 s. A benchmark aid, not a test.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
corpus="${1:-$repo/tests/corpus}"
python="${PYTHON:-$repo/.venv/bin/python}"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 2; }

loop='
import sys
from pathlib import Path
from bounce_stream.detection import parse
paths = sorted(Path(sys.argv[1]).rglob("*.eml"))
for _ in range(int(sys.argv[2])):
    for path in paths:
        parse(path.read_bytes())
'

count() {
    PYTHONHASHSEED=0 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
        "$python" -c "$loop" "$corpus" "$1" 2>&1 | awk '/I *refs/ {gsub(",", "", $NF); print $NF}'
}

one="$(count 1)"
three="$(count 3)"
echo "detection.parse: $(( (three - one) / 2 / 1000000 )) M instructions per corpus pass"
