#!/usr/bin/env bash
# Refresh static/vendor/kern from the npm package @kern-ux/native (EUPL-1.2): CSS, the Fira Sans
# weights the portal uses, the licence. Usage: tools/update-kern.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-latest}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@kern-ux/native@${version}" >/dev/null && tar xzf kern-ux-native-*.tgz)
src="$work/package/dist"
dest=static/vendor/kern
mkdir -p "$dest/fonts/fira-sans"
cp "$src/kern.min.css" "$dest/"
cp "$work/package/LICENSE.md" "$dest/LICENSE.md"
weights="Regular Medium SemiBold Bold Italic"
for w in $weights; do cp "$src/fonts/fira-sans/FiraSans-$w.woff2" "$dest/fonts/fira-sans/"; done
python3 - "$src/fonts/fira-sans.css" "$dest/fonts/fira-sans.css" "$weights" <<'PY'
import re, sys
css = open(sys.argv[1]).read()
weights = sys.argv[3].split()
blocks = [b for b in re.findall(r"@font-face\s*{[^}]*}", css)
          if any(f"FiraSans-{w}.woff2" in b for w in weights)]
header = "/* Subset of @kern-ux/native dist/fonts/fira-sans.css: only the weights OpenKasse uses. */\n"
open(sys.argv[2], "w").write(header + "\n\n".join(blocks) + "\n")
PY
node -e "console.log(require('$work/package/package.json').version)" > "$dest/VERSION"
echo "KERN $(cat "$dest/VERSION") vendored into $dest"
