#!/usr/bin/env bash
# The official Pulumi CLI and the official docker and command resource
# plugins, found or installed in this order (sourced, never run):
#   CLI:     a `pulumi` on PATH at least as new as @pulumi/pulumi; the cached
#            one; Pulumi's download; the offline bundle.
#   plugins: the exact versions of node_modules/@pulumi/{docker,command},
#            already in PULUMI_HOME; `pulumi plugin install` from the network;
#            `--file` from the offline bundle.
# The offline bundle is $FLASK_BRIDGE_OFFLINE_DIR, by default
# ../shared/pulumi-offline beside the repository; its SHA256SUMS is checked.
# The choice goes to $FLASK_BRIDGE_HOME/toolchain.env, which env.sh sources.

FB_TOOLCHAIN_ENV="$FLASK_BRIDGE_HOME/toolchain.env"
FB_RELEASES="https://get.pulumi.com/releases"
FB_PLUGINS=(docker command)

fb_offline_dir() { echo "${FLASK_BRIDGE_OFFLINE_DIR:-$FB_REPO_ROOT/../shared/pulumi-offline}"; }

# 0 when $1 >= $2 (versions without the leading v).
fb_version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

fb_plugin_dir() { echo "$PULUMI_HOME/plugins/resource-$1-v$2"; }

# The official downloads answer, checked once per run and within seconds.
fb_online() {
  if [ -z "${FB__ONLINE:-}" ]; then
    FB__ONLINE=no
    curl -fsI --connect-timeout 5 --max-time 10 "$FB_RELEASES/sdk/pulumi-v$1-linux-x64.tar.gz" >/dev/null 2>&1 &&
      FB__ONLINE=yes
  fi
  [ "$FB__ONLINE" = yes ]
}

# Checks one file of the offline bundle against its SHA256SUMS.
fb_bundle_file() {
  local dir file="$1"
  dir="$(fb_offline_dir)"
  [ -f "$dir/$file" ] && [ -f "$dir/SHA256SUMS" ] || return 1
  (cd "$dir" && grep -E "[[:space:]]\*?$file\$" SHA256SUMS | sha256sum -c --status -) ||
    { fb_log "ERROR: $dir/$file does not match its SHA256SUMS"; return 1; }
  echo "$dir/$file"
}

fb_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) uname -m ;;
  esac
}

# Unpacks a CLI release tarball (pulumi/pulumi, ...) into <dest>/bin, the
# layout the Automation API's PulumiCommand expects; never half-made.
fb_unpack_cli() {
  local tarball="$1" dest="$2"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial/bin"
  tar -xzf "$tarball" -C "$dest.partial/bin" --strip-components=1 && rm -rf "$dest" && mv "$dest.partial" "$dest"
}

fb_resolve_cli() {
  local want="$1" found have tmp
  local cache="$FB_TOOLCHAIN_DIR/pulumi-$want"
  found="$(command -v pulumi || true)"
  if [ -n "$found" ] && [ "$found" != "$cache/bin/pulumi" ]; then
    have="$("$found" version 2>/dev/null | sed 's/^v//')"
    if fb_version_ge "${have:-0}" "$want"; then
      fb_log "    pulumi v$have on PATH ($found)"
      FB_CLI_DIR="$(dirname "$found")" && return 0
    fi
    fb_log "    pulumi on PATH is v${have:-?}, older than @pulumi/pulumi $want; not used"
  fi
  FB_CLI_DIR="$cache/bin"
  [ -x "$FB_CLI_DIR/pulumi" ] && return 0
  if fb_online "$want"; then
    fb_log "    downloading pulumi v$want"
    tmp="$(mktemp -d)"
    if curl -fsSL --max-time 600 -o "$tmp/cli.tgz" "$FB_RELEASES/sdk/pulumi-v$want-linux-$(fb_arch).tar.gz" &&
      curl -fsSL --max-time 60 -o "$tmp/sums" "$FB_RELEASES/sdk/pulumi-$want-checksums.txt" &&
      [ "$(grep "linux-$(fb_arch).tar.gz" "$tmp/sums" | cut -d' ' -f1)" = "$(sha256sum "$tmp/cli.tgz" | cut -d' ' -f1)" ] &&
      fb_unpack_cli "$tmp/cli.tgz" "$cache"; then
      rm -rf "$tmp" && return 0
    fi
    rm -rf "$tmp"
    fb_log "    the download failed"
  else
    fb_log "    Pulumi's downloads do not answer (offline)"
  fi
  if have="$(fb_bundle_file "pulumi-v$want-linux-x64.tar.gz")"; then
    fb_log "    unpacking $have (sha256 checked)"
    fb_unpack_cli "$have" "$cache" && return 0
  fi
  fb_log "ERROR: no Pulumi CLI v$want or newer. Any one of these works:"
  fb_log "  1. install it yourself and put it on PATH (https://www.pulumi.com/docs/install/);"
  fb_log "  2. give this machine access to Pulumi's downloads ($FB_RELEASES);"
  fb_log "  3. set FLASK_BRIDGE_OFFLINE_DIR to an offline bundle (README: 'The offline bundle')."
  fb_log "  Looked for the bundle in $(fb_offline_dir)."
  return 1
}

fb_resolve_plugin() {
  local name="$1" version="$2" file
  [ -x "$(fb_plugin_dir "$name" "$version")/pulumi-resource-$name" ] && return 0
  if fb_online "$FB_WANT_CLI" &&
    "$FB_CLI_DIR/pulumi" plugin install resource "$name" "$version" --non-interactive >&2; then
    return 0
  fi
  if file="$(fb_bundle_file "pulumi-resource-$name-v$version-linux-amd64.tar.gz")"; then
    fb_log "    installing $name $version from $file (sha256 checked)"
    "$FB_CLI_DIR/pulumi" plugin install resource "$name" "$version" --file "$file" --non-interactive >&2 && return 0
  fi
  fb_log "ERROR: no $name plugin $version: neither Pulumi's downloads nor an offline bundle"
  fb_log "  ($(fb_offline_dir)) has it; see README: 'The offline bundle'."
  return 1
}

# Everything already there: no network, no output.
fb_toolchain_ready() {
  [ -f "$FB_TOOLCHAIN_ENV" ] || return 1
  # shellcheck disable=SC1090
  source "$FB_TOOLCHAIN_ENV"
  [ "${FB_WANT_CLI:-}" = "$(fb_npm_version @pulumi/pulumi)" ] && [ -x "${FB_PULUMI_BIN_DIR:-}/pulumi" ] || return 1
  local name
  for name in "${FB_PLUGINS[@]}"; do
    [ -x "$(fb_plugin_dir "$name" "$(fb_plugin_version "@pulumi/$name")")/pulumi-resource-$name" ] || return 1
  done
}

fb_ensure_toolchain() {
  fb_toolchain_ready && return 0
  FB_WANT_CLI="$(fb_npm_version @pulumi/pulumi)"
  fb_resolve_cli "$FB_WANT_CLI" || return 1
  local name
  for name in "${FB_PLUGINS[@]}"; do
    fb_resolve_plugin "$name" "$(fb_plugin_version "@pulumi/$name")" || return 1
  done
  # Setup installed the plugins, so the engine never needs to fetch one.
  printf 'FB_WANT_CLI=%q\nexport FB_PULUMI_BIN_DIR=%q\nexport PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true\n' \
    "$FB_WANT_CLI" "$FB_CLI_DIR" >"$FB_TOOLCHAIN_ENV"
  # The earlier from-source builds (CLI, patched language host) are retired.
  rm -rf "$FB_TOOLCHAIN_DIR"/pulumi-v* "$FB_TOOLCHAIN_DIR"/pulumi-resource-*
  fb_log "    pulumi $("$FB_CLI_DIR/pulumi" version) in $FB_CLI_DIR; plugins in $PULUMI_HOME/plugins"
}
