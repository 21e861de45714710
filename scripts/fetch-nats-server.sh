#!/usr/bin/env bash
# Fetches the newest nats-server that Debian's testing suite carries into .jetbus/bin/nats-server (git-ignored),
# without changing the machine's apt state: apt runs on a private source list, package lists and cache under
# .jetbus/apt, and the package is unpacked with dpkg-deb rather than installed. Debian stable's own package is
# older than the 2.12 jetbus needs (bookworm has 2.9.10, trixie 2.10.27); the Go binary from testing runs on
# both. A second run with the same version only refreshes the lists and keeps the binary.
#
# Usage: scripts/fetch-nats-server.sh   (prints the version it got; exit 1 with the reason where it cannot)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Debian's rolling "testing" alias (today forky), so the script keeps fetching the newest server after a release.
suite="testing"
work="$root/.jetbus/apt"
bin_dir="$root/.jetbus/bin"
target="$bin_dir/nats-server"

refuse() {
  {
    echo "fetch-nats-server: $1"
    echo "Other ways to get nats-server 2.12 or newer:"
    echo "  Homebrew:   brew install nats-server"
    echo "  container:  docker run -p 4222:4222 nats:2.15-alpine -js   (then NATS_URL=127.0.0.1:4222)"
    echo "  release:    a binary from the nats-server releases on GitHub, on PATH"
  } >&2
  exit 1
}

for tool in apt-get dpkg-deb dpkg; do
  command -v "$tool" >/dev/null 2>&1 || refuse "needs $tool (a Debian-based system); it is not on this machine."
done

# The machine's own Debian mirror, with its suite changed: deb822 first, then the one-line sources.list format.
source_text=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  source_text="$(awk 'BEGIN { RS = ""; FS = "\n" } NR == 1 { print; exit }' /etc/apt/sources.list.d/debian.sources |
    sed -E "s|^Suites:.*|Suites: $suite|")"
elif [ -f /etc/apt/sources.list ]; then
  line="$(grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list | grep -m1 '/debian/\?[[:space:]]' || true)"
  if [ -n "$line" ]; then
    # deb [options] URI suite components…  →  same options and URI, our suite, component main.
    source_text="$(printf '%s\n' "$line" |
      sed -E "s#^[[:space:]]*(deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+)[[:space:]].*#\1 $suite main#")"
  fi
fi
[ -n "$source_text" ] ||
  refuse "found no Debian source in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list (not Debian?)."

mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial" "$work/deb" "$bin_dir"
if [ "${source_text#Types:}" != "$source_text" ]; then
  rm -f "$work/sources/testing.list"
  printf '%s\n' "$source_text" >"$work/sources/testing.sources"
else
  rm -f "$work/sources/testing.sources"
  printf '%s\n' "$source_text" >"$work/sources/testing.list"
fi

# Two fetches at once (npm start beside npm test) would share the lists; one waits for the other.
exec 9>"$work/lock"
command -v flock >/dev/null 2>&1 && flock 9

apt_opts=(
  -o Dir::Etc::SourceList=/dev/null
  -o "Dir::Etc::SourceParts=$work/sources"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  # Blind to what dpkg has installed, so the candidate is testing's version, never the system's own package.
  -o Dir::State::status=/dev/null
  -o APT::Sandbox::User=root
)

if ! apt-get "${apt_opts[@]}" -qq update >"$work/update.log" 2>&1; then
  reason="apt-get update on Debian's $suite suite failed (see $work/update.log): $(tail -n 3 "$work/update.log" | tr '\n' ' ')"
  # Offline with a binary from an earlier run: keep it rather than leave the project without a server.
  if [ -x "$target" ] && kept="$("$target" --version 2>/dev/null)"; then
    echo "fetch-nats-server: $reason" >&2
    echo "$kept kept in $target (could not check for a newer one)"
    exit 0
  fi
  refuse "$reason"
fi
candidate="$(apt-cache "${apt_opts[@]}" policy nats-server 2>/dev/null | awk '/Candidate:/ { print $2 }')"
[ -n "$candidate" ] && [ "$candidate" != "(none)" ] ||
  refuse "found no nats-server package for $(dpkg --print-architecture) in Debian's $suite suite. apt-get update said: $(tail -n 3 "$work/update.log" | tr '\n' ' ')"

if [ -x "$target" ] && [ "$(cat "$target.deb-version" 2>/dev/null)" = "$candidate" ]; then
  echo "$("$target" --version) (Debian $suite $candidate) already in $target"
  exit 0
fi

# `download` writes into the current folder, so it runs in one of ours.
rm -f "$work/deb"/*.deb
(cd "$work/deb" && apt-get "${apt_opts[@]}" -qq download "nats-server=$candidate" >"$work/download.log" 2>&1) ||
  refuse "downloading nats-server $candidate failed (see $work/download.log)."
unpacked="$(mktemp -d "$work/unpacked.XXXXXX")"
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$work"/deb/nats-server_*.deb "$unpacked"
[ -x "$unpacked/usr/sbin/nats-server" ] || refuse "the nats-server $candidate package holds no usr/sbin/nats-server."
version="$("$unpacked/usr/sbin/nats-server" --version)" ||
  refuse "the downloaded nats-server $candidate does not run on this machine."

# Replaced in one rename, so a test run that is starting servers never sees half a binary.
cp "$unpacked/usr/sbin/nats-server" "$target.tmp"
mv -f "$target.tmp" "$target"
printf '%s\n' "$candidate" >"$target.deb-version"
rm -f "$work"/deb/*.deb
echo "$version (Debian $suite $candidate) in $target"
