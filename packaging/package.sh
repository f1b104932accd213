#!/usr/bin/env bash
# Builds the release artifacts into artifacts/ (or --output DIR), each carrying one version: VersionPrefix of
# Directory.Build.props, or --version X / L2GW_VERSION for a build of another version. Run as `./l2gw package`.
#
#   deb    l2gw_V_ARCH.deb         the client (Native AOT) and the neutron-l2gw command
#          l2gw-server_V_ARCH.deb  l2gw-service (self-contained, ReadyToRun), systemd units, /etc/l2gw, the l2gw user
#   nuget  L2Gateway.Ovsdb.V.nupkg the OVSDB library
#   tool   l2gw.V.nupkg            the client as a .NET tool (framework-dependent)
#
# With no kind named, all three are built. The Debian packages are assembled with dpkg-deb from the files in
# packaging/debian; dpkg-shlibdeps computes their library dependencies.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true   # "&" in a substituted value stays "&"
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
root="$(dirname "$here")"

usage() {
  echo "usage: ./l2gw package [--version X] [--output DIR] [deb] [nuget] [tool]" >&2
  exit 2
}

version="${L2GW_VERSION:-}"
output="$root/artifacts"
kinds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || usage; version="$2"; shift 2 ;;
    --version=*) version="${1#--version=}"; shift ;;
    --output) [ $# -ge 2 ] || usage; output="$2"; shift 2 ;;
    --output=*) output="${1#--output=}"; shift ;;
    deb|nuget|tool) kinds+=("$1"); shift ;;
    -h|--help) usage ;;
    *) echo "l2gw package: unknown argument '$1'" >&2; usage ;;
  esac
done
[ ${#kinds[@]} -gt 0 ] || kinds=(deb nuget tool)

if [ -z "$version" ]; then
  version=$(dotnet msbuild "$root/src/L2Gateway.Ovsdb/L2Gateway.Ovsdb.csproj" -getProperty:Version -nologo)
fi
# NuGet's version syntax (SemVer 2), which dotnet accepts: 2026.2.0, 2026.3.0-rc.1
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "l2gw package: '$version' is not a version (YEAR.SERIES.PATCH, optionally -PRERELEASE)" >&2
  exit 2
fi
# Debian sorts a pre-release before its release only with '~' (2026.3.0~rc.1 < 2026.3.0).
deb_version="${version/-/\~}"

mkdir -p "$output"
output="$(cd "$output" && pwd)"
work="$root/.build/package"
rm -rf "$work"
mkdir -p "$work"

# The maintainer, from the variables Debian's tools read (dch, debchange).
maintainer="${DEBFULLNAME:-L2 Gateway developers} <${DEBEMAIL:-l2gw@localhost}>"

msbuild_args=(-c Release -nologo -v quiet -clp:ErrorsOnly "-p:Version=$version")

say() { echo "l2gw package: $*" >&2; }

build_nuget() {
  say "L2Gateway.Ovsdb $version (NuGet)"
  dotnet pack "$root/src/L2Gateway.Ovsdb/L2Gateway.Ovsdb.csproj" "${msbuild_args[@]}" -o "$output" >&2
}

build_tool() {
  say "l2gw $version (.NET tool)"
  dotnet pack "$root/src/L2Gateway.Cli/L2Gateway.Cli.csproj" "${msbuild_args[@]}" -o "$output" >&2
}

# Substitutes @NAME@ placeholders of a control template.
fill() { # TEMPLATE OUT NAME=VALUE...
  local template="$1" out="$2"; shift 2
  local text
  text=$(<"$template")
  for pair in "$@"; do
    text="${text//@${pair%%=*}@/${pair#*=}}"
  done
  printf '%s\n' "$text" >"$out"
}

# The shared-library dependencies of the ELF files under DIR, as dpkg-shlibdeps finds them.
shlib_depends() { # DIR
  local scratch="$work/shlibdeps"
  mkdir -p "$scratch/debian"
  printf 'Source: l2gw\n\nPackage: l2gw\nArchitecture: any\n' >"$scratch/debian/control"
  local elves=()
  while IFS= read -r -d '' f; do
    if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then elves+=("$f"); fi
  done < <(find "$1" -type f -print0)
  (cd "$scratch" && dpkg-shlibdeps -O "${elves[@]}" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# The copyright file, the changelog and the package's DEBIAN files; then dpkg-deb.
finish_deb() { # PACKAGE STAGE DEPENDS
  local package="$1" stage="$2" depends="$3" src="$here/debian/$1"
  local doc="$stage/usr/share/doc/$package"
  install -d -m 0755 "$doc" "$stage/DEBIAN"
  install -m 0644 "$here/debian/copyright" "$doc/copyright"
  {
    echo "$package ($deb_version) stable; urgency=medium"
    echo
    echo "  * Release $version (docs/releasing.md)."
    echo
    echo " -- $maintainer  $(date -R -u -d "@$source_date")"
  } | gzip -9n >"$doc/changelog.gz"
  chmod 0644 "$doc/changelog.gz"
  for script in preinst postinst prerm postrm; do
    [ -f "$src/$script" ] && install -m 0755 "$src/$script" "$stage/DEBIAN/$script"
  done
  [ -f "$src/conffiles" ] && install -m 0644 "$src/conffiles" "$stage/DEBIAN/conffiles"
  local size
  size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
  fill "$src/control" "$stage/DEBIAN/control" "VERSION=$deb_version" "ARCH=$arch" "MAINTAINER=$maintainer" "DEPENDS=$depends" "SIZE=$size"
  (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
    >"$stage/DEBIAN/md5sums"
  chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control"
  # xz at level 1: the server's package is 130 MB unpacked; level 6 costs a minute more for 10% less.
  dpkg-deb --root-owner-group -Zxz -z1 --build "$stage" "$output/${package}_${deb_version}_${arch}.deb" >&2
}

build_deb() {
  arch=$(dpkg --print-architecture)
  local rid
  case "$arch" in
    amd64) rid=linux-x64 ;;
    arm64) rid=linux-arm64 ;;
    *) echo "l2gw package: no .NET runtime identifier for $arch" >&2; exit 1 ;;
  esac
  source_date=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)

  say "l2gw $version (Debian, Native AOT)"
  local cli="$work/l2gw"
  dotnet publish "$root/src/L2Gateway.Cli/L2Gateway.Cli.csproj" "${msbuild_args[@]}" -r "$rid" -o "$work/publish-cli" >&2
  install -d -m 0755 "$cli/usr/bin" "$cli/usr/share/bash-completion/completions"
  install -m 0755 "$work/publish-cli/l2gw" "$cli/usr/bin/l2gw"
  # The legacy neutronclient verbs (l2-gateway-list, ...) are commands of l2gw itself.
  ln -s l2gw "$cli/usr/bin/neutron-l2gw"
  "$cli/usr/bin/l2gw" completion bash >"$cli/usr/share/bash-completion/completions/l2gw"
  chmod 0644 "$cli/usr/share/bash-completion/completions/l2gw"
  # OpenSSL is loaded at run time (https endpoints, Keystone), so dpkg-shlibdeps cannot see it.
  finish_deb l2gw "$cli" "$(shlib_depends "$cli"), libssl3"

  say "l2gw-server $version (Debian, self-contained ReadyToRun)"
  local server="$work/l2gw-server" src="$here/debian/l2gw-server"
  # Self-contained: Debian 12 has no .NET runtime package, so the package carries its own (docs/operations.md).
  dotnet publish "$root/src/L2Gateway.Service/L2Gateway.Service.csproj" "${msbuild_args[@]}" -r "$rid" --self-contained \
    -p:DebugType=none -o "$work/publish-server" >&2
  # LTTng tracing is optional for the runtime and would make liblttng-ust a dependency.
  rm -f "$work/publish-server/libcoreclrtraceptprovider.so"
  # NuGet's SQLite comes with its symbols; the runtime's own libraries are stripped already.
  strip --strip-unneeded "$work/publish-server/libe_sqlite3.so"
  install -d -m 0755 "$server/usr/lib" "$server/usr/bin" "$server/lib/systemd/system" "$server/etc/l2gw"
  cp -r "$work/publish-server" "$server/usr/lib/l2gw"
  find "$server/usr/lib/l2gw" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
  chmod 0755 "$server/usr/lib/l2gw/l2gw-service" "$server/usr/lib/l2gw/createdump"
  ln -s ../lib/l2gw/l2gw-service "$server/usr/bin/l2gw-service"
  install -m 0644 "$src/l2gw-server.service" "$src/l2gw-agent.service" "$server/lib/systemd/system/"
  install -m 0644 "$src/l2gw.ini" "$src/l2gateway_agent.ini" "$server/etc/l2gw/"
  install -D -m 0644 "$src/lintian-overrides" "$server/usr/share/lintian/overrides/l2gw-server"
  finish_deb l2gw-server "$server" "$(shlib_depends "$server"), libssl3, adduser"
}

for kind in "${kinds[@]}"; do
  "build_$kind"
done
say "done: $output"
