#!/bin/sh
# Copy every config file of tests/testdata into the fuzz corpus (corpus/parse).
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/parse
find ../tests/testdata -type f ! -name '*.expected' ! -name '*.client' ! -name README.md |
while read -r f; do
    cp "$f" "corpus/parse/seed_$(echo "${f#../tests/testdata/}" | tr '/' '_')"
done
echo "$(ls corpus/parse | wc -l) files in corpus/parse"
