#!/usr/bin/env bash
# Re-vendor the real roslibjs for test/browser/test_roslibjs.py (needs npm and network;
# the tests themselves need neither). Usage: test/browser/vendor/update.sh [V1] [V2]
#   V1: a roslib 1.x release; its self-contained UMD build/roslib.min.js is copied as is.
#   V2: a roslib 2.x release; ESM with npm dependencies, bundled by esbuild into one
#       minified ES module (dependency versions pinned below: bump them together).
# Then update README.md here (versions, integrity) and the VERSIONS in test_roslibjs.py.
set -euo pipefail
v1=${1:-1.4.1}
v2=${2:-2.1.0}
deps=('@xmldom/xmldom@0.9.12' 'bson@7.3.4' 'cbor2@2.3.0' '@cto.af/wtf8@0.0.5'
      'eventemitter3@5.0.4' 'fast-png@8.0.0' 'fflate@0.8.3' 'iobuffer@6.0.1' 'uuid@13.0.2'
      'ws@8.23.1')
esbuild=esbuild@0.28.2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "roslib@$v1" >/dev/null
mkdir one && tar xzf "roslib-$v1.tgz" -C one
rm -rf "$here/roslib-$v1" && mkdir "$here/roslib-$v1"
cp one/package/build/roslib.min.js one/package/LICENSE "$here/roslib-$v1/"
echo "roslib@$v1 $(npm view "roslib@$v1" dist.integrity)"

mkdir two && cd two
npm init -y >/dev/null
npm install --silent --no-audit --no-fund --ignore-scripts "roslib@$v2" "${deps[@]}" "$esbuild"
echo "export * from 'roslib';" > entry.mjs
# --ignore-scripts: esbuild's binary comes from its optional platform package
bin=$(ls node_modules/@esbuild/*/bin/esbuild | head -1)
"$bin" entry.mjs --bundle --format=esm --platform=browser --minify --legal-comments=eof \
  --log-level=warning --outfile=roslib.min.mjs
rm -rf "${here:?}/roslib-$v2" && mkdir "$here/roslib-$v2"
cp roslib.min.mjs node_modules/roslib/LICENSE "$here/roslib-$v2/"
{
  echo "Licences of the packages bundled into roslib.min.mjs besides roslib (LICENSE)."
  for d in "${deps[@]}"; do
    name=${d%@*}
    [[ $name == ws ]] && continue  # its browser stub only: roslib's Node transport
    echo; echo "==== $d"
    cat node_modules/"$name"/LICENSE*
  done
} > "$here/roslib-$v2/THIRD_PARTY_LICENSES"
echo "roslib@$v2 $(npm view "roslib@$v2" dist.integrity)"
