#!/usr/bin/env bash
# The official Pulumi CLI and the official docker and command resource
# plugins, found or installed in this order (sourced, never run):
#   CLI:     a `pulumi` on PATH at least as new as @pulumi/pulumi; the one an
#            earlier setup installed; Pulumi's releases or a mirror of them
#            ($FLASK_BRIDGE_PULUMI_RELEASES), checked against the release's
#            checksums file; the offline bundle.
#   plugins: the exact versions of node_modules/@pulumi/{docker,command}: the
#            ones an earlier setup installed; the user's own plugin cache;
#            `pulumi plugin install` from Pulumi's downloads, or from where
#            PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES sends it; `--file` from the bundle.
# The offline bundle is $FLASK_BRIDGE_OFFLINE_DIR, by default
# ../shared/pulumi-offline beside the repository; its SHA256SUMS is checked.
# The choice goes to $FLASK_BRIDGE_HOME/toolchain.env, which env.sh sources;
# where each binary came from, with its sha256, to toolchain.json, which the
# e2e suites compare with the processes that served a stack.

FB_TOOLCHAIN_ENV="$FLASK_BRIDGE_HOME/toolchain.env"
FB_TOOLCHAIN_RECORD="$FLASK_BRIDGE_HOME/toolchain.json"
FB_PULUMI_RELEASES="https://get.pulumi.com/releases"
FB_RELEASES="${FLASK_BRIDGE_PULUMI_RELEASES:-$FB_PULUMI_RELEASES}"
FB_RELEASES="${FB_RELEASES%/}"
FB_PLUGINS=(docker command)

fb_offline_dir() { echo "${FLASK_BRIDGE_OFFLINE_DIR:-$FB_REPO_ROOT/../shared/pulumi-offline}"; }

# 0 when $1 >= $2 (versions without the leading v).
fb_version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

fb_plugin_dir() { echo "$PULUMI_HOME/plugins/resource-$1-v$2"; }

fb_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# How the record names a download: Pulumi's own servers, or a mirror.
fb_cli_download_kind() { [ "$FB_RELEASES" = "$FB_PULUMI_RELEASES" ] && echo download || echo mirror; }

# The CLI's release server (or mirror) answers, checked once per run and within seconds.
fb_online() {
  if [ -z "${FB__ONLINE:-}" ]; then
    FB__ONLINE=no
    curl -fsI --connect-timeout 5 --max-time 10 "$FB_RELEASES/sdk/pulumi-v$1-linux-$(fb_arch).tar.gz" >/dev/null 2>&1 &&
      FB__ONLINE=yes
  fi
  [ "$FB__ONLINE" = yes ]
}

# Pulumi's own plugin downloads answer (get.pulumi.com, where the CLI ends up
# after GitHub), checked once; the same server as the CLI's unless a mirror is set.
fb_plugins_online() {
  if [ "$FB_RELEASES" = "$FB_PULUMI_RELEASES" ]; then
    fb_online "$FB_WANT_CLI"
    return
  fi
  if [ -z "${FB__PLUGINS_ONLINE:-}" ]; then
    FB__PLUGINS_ONLINE=no
    curl -fsI --connect-timeout 5 --max-time 10 \
      "$FB_PULUMI_RELEASES/plugins/pulumi-resource-$1-v$2-linux-$(fb_goarch).tar.gz" >/dev/null 2>&1 &&
      FB__PLUGINS_ONLINE=yes
    [ "$FB__PLUGINS_ONLINE" = yes ] || fb_log "    Pulumi's plugin downloads do not answer (offline)"
  fi
  [ "$FB__PLUGINS_ONLINE" = yes ]
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

# Plugin archives are named by Go's architecture names.
fb_goarch() { case "$(fb_arch)" in x64) echo amd64 ;; *) fb_arch ;; esac }

# --- The record: one line per binary while setup runs, toolchain.json at the end.

FB__RECORD=()

# fb_record WHAT VERSION SOURCE FROM FILE: WHAT is `cli` or a plugin's name;
# SOURCE one of PATH, plugin cache, download, mirror, bundle.
fb_record() {
  FB__RECORD+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$1" "$2" "$3" "$4" "$(readlink -f "$5")" "$(fb_sha256 "$5")")")
}

fb_write_record() {
  printf '%s\n' "${FB__RECORD[@]}" | node -e '
    const fs = require("fs");
    const record = { cli: null, plugins: {} };
    for (const line of fs.readFileSync(0, "utf8").trim().split("\n")) {
      const [what, version, source, from, path, sha256] = line.split("\t");
      const entry = { version, source, from, path, sha256 };
      if (what === "cli") record.cli = entry;
      else record.plugins[what] = entry;
    }
    fs.writeFileSync(process.argv[1] + ".partial", JSON.stringify(record, null, 2) + "\n");
    fs.renameSync(process.argv[1] + ".partial", process.argv[1]);' "$FB_TOOLCHAIN_RECORD"
}

# Keeps what an earlier setup installed and recorded, when FILE is still the
# binary that record names; anything else there is installed again.
fb_keep_recorded() {
  local what="$1" version="$2" file="$3" line
  [ -f "$FB_TOOLCHAIN_RECORD" ] && [ -x "$file" ] || return 1
  line="$(node -e '
    const [, record, what, version, path, sha256] = process.argv;
    const r = JSON.parse(require("fs").readFileSync(record, "utf8"));
    const e = what === "cli" ? r.cli : r.plugins?.[what];
    if (e && e.version === version && e.path === path && e.sha256 === sha256)
      process.stdout.write([what, e.version, e.source, e.from, e.path, e.sha256].join("\t"));' \
    "$FB_TOOLCHAIN_RECORD" "$what" "$version" "$(readlink -f "$file")" "$(fb_sha256 "$file")" 2>/dev/null)"
  [ -n "$line" ] || return 1
  FB__RECORD+=("$line")
}

# --- The CLI

# Unpacks a CLI release tarball (pulumi/pulumi, ...) into <dest>/bin, the
# layout the Automation API's PulumiCommand expects; never half-made.
fb_unpack_cli() {
  local tarball="$1" dest="$2"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial/bin"
  tar -xzf "$tarball" -C "$dest.partial/bin" --strip-components=1 && rm -rf "$dest" && mv "$dest.partial" "$dest"
}

# Downloads the CLI release and its checksums file. 0: installed; 1: not had
# (fall back to the bundle); 2: refused (no checksums file, or it lists another sha256).
fb_download_cli() {
  local want="$1" dest="$2" tmp listed actual code=1 file sums="pulumi-$1-checksums.txt"
  file="pulumi-v$want-linux-$(fb_arch).tar.gz"
  fb_log "    downloading $FB_RELEASES/sdk/$file"
  tmp="$(mktemp -d)"
  if ! curl -fsSL --connect-timeout 5 --max-time 600 -o "$tmp/$file" "$FB_RELEASES/sdk/$file"; then
    fb_log "    the download failed"
  elif ! curl -fsSL --connect-timeout 5 --max-time 60 -o "$tmp/$sums" "$FB_RELEASES/sdk/$sums"; then
    fb_log "ERROR: $FB_RELEASES/sdk/$sums could not be had, so $file cannot be checked; not installed"
    code=2
  else
    listed="$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1 }' "$tmp/$sums")"
    actual="$(fb_sha256 "$tmp/$file")"
    if [ "$listed" != "$actual" ]; then
      fb_log "ERROR: $FB_RELEASES/sdk/$file has sha256 $actual, but $sums lists ${listed:-no such file}; not installed"
      code=2
    elif fb_unpack_cli "$tmp/$file" "$dest"; then
      fb_record cli "$want" "$(fb_cli_download_kind)" "$FB_RELEASES/sdk/$file" "$dest/bin/pulumi"
      code=0
    fi
  fi
  rm -rf "$tmp"
  return "$code"
}

fb_resolve_cli() {
  local want="$1" found have code
  local cache="$FB_TOOLCHAIN_DIR/pulumi-$want"
  found="$(command -v pulumi || true)"
  if [ -n "$found" ] && [ "$found" != "$cache/bin/pulumi" ]; then
    have="$("$found" version 2>/dev/null | sed 's/^v//')"
    if fb_version_ge "${have:-0}" "$want"; then
      fb_log "    pulumi v$have on PATH ($found)"
      FB_CLI_DIR="$(dirname "$found")"
      fb_record cli "$have" PATH "$found" "$found"
      return 0
    fi
    fb_log "    pulumi on PATH is v${have:-?}, older than @pulumi/pulumi $want; not used"
  fi
  FB_CLI_DIR="$cache/bin"
  fb_keep_recorded cli "$want" "$FB_CLI_DIR/pulumi" && return 0
  if fb_online "$want"; then
    fb_download_cli "$want" "$cache" && return 0
    code=$?
    [ "$code" = 2 ] && return 1
  elif [ "$(fb_cli_download_kind)" = mirror ]; then
    fb_log "    the mirror $FB_RELEASES does not answer"
  else
    fb_log "    Pulumi's downloads do not answer (offline)"
  fi
  if have="$(fb_bundle_file "pulumi-v$want-linux-x64.tar.gz")"; then
    fb_log "    unpacking $have (sha256 checked)"
    fb_unpack_cli "$have" "$cache" && fb_record cli "$want" bundle "$have" "$FB_CLI_DIR/pulumi" && return 0
  fi
  fb_log "ERROR: no Pulumi CLI v$want or newer. Any one of these works:"
  fb_log "  1. install it yourself and put it on PATH (https://www.pulumi.com/docs/install/);"
  fb_log "  2. give this machine access to Pulumi's downloads ($FB_PULUMI_RELEASES), or set"
  fb_log "     FLASK_BRIDGE_PULUMI_RELEASES to a mirror of them (now: $FB_RELEASES);"
  fb_log "  3. set FLASK_BRIDGE_OFFLINE_DIR to an offline bundle (README: 'The offline bundle')."
  fb_log "  Looked for the bundle in $(fb_offline_dir)."
  return 1
}

# --- The plugins

# The archive `pulumi plugin install` fetches when PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES
# (`regexp=URL,...`) sends plugin NAME elsewhere: the regexps are matched
# against the plugin's default source, github://api.github.com/pulumi/pulumi-NAME.
fb_plugin_override_url() {
  local name="$1" version="$2" pair url IFS=,
  for pair in ${PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES:-}; do
    if [[ "github://api.github.com/pulumi/pulumi-$name" =~ ${pair%%=*} ]]; then
      url="${pair#*=}"
      url="${url//\$\{NAME\}/$name}" && url="${url//\$\{VERSION\}/$version}"
      url="${url//\$\{OS\}/linux}" && url="${url//\$\{ARCH\}/$(fb_goarch)}"
      echo "${url%/}/pulumi-resource-$name-v$version-linux-$(fb_goarch).tar.gz"
      return 0
    fi
  done
  return 1
}

# Copies a plugin from the user's own Pulumi home, when it holds this version whole.
fb_user_plugin() {
  local name="$1" version="$2" user="${FB_USER_PULUMI_HOME:-}" dest
  local from="$user/plugins/resource-$name-v$version"
  dest="$(fb_plugin_dir "$name" "$version")"
  [ -n "$user" ] && [ "$(readlink -f "$user")" != "$(readlink -f "$PULUMI_HOME")" ] || return 1
  [ -x "$from/pulumi-resource-$name" ] && [ ! -e "$from.partial" ] || return 1
  fb_log "    $name $version from your plugin cache ($from)"
  rm -rf "$dest" "$dest.partial" && mkdir -p "$(dirname "$dest")" &&
    cp -a "$from" "$dest.partial" && mv "$dest.partial" "$dest" &&
    fb_record "$name" "$version" "plugin cache" "$from/pulumi-resource-$name" "$dest/pulumi-resource-$name"
}

# `pulumi plugin install` from the network; its log names the URL it fetched.
# The name and version are exact, so the Pulumi Registry is not asked (a
# round trip, and 7 s where only a mirror answers).
fb_download_plugin() {
  local name="$1" version="$2" url="$3" kind="$4" log from
  fb_log "    downloading $name $version${url:+ from $url}"
  log="$(mktemp)"
  if PULUMI_DISABLE_REGISTRY_RESOLVE=true "$FB_CLI_DIR/pulumi" plugin install resource "$name" "$version" \
    --reinstall --non-interactive --logtostderr -v=9 >/dev/null 2>"$log"; then
    from="$(sed -n 's/.*full plugin download url: \([^"[:space:]]*\).*/\1/p' "$log" | tail -n1)"
    rm -f "$log"
    fb_record "$name" "$version" "$kind" "${from:-${url:-pulumi plugin install}}" "$(fb_plugin_dir "$name" "$version")/pulumi-resource-$name"
    return 0
  fi
  fb_log "    the download failed: $(grep -m1 '^error:' "$log" || tail -n1 "$log")"
  rm -f "$log"
  return 1
}

fb_resolve_plugin() {
  local name="$1" version="$2" file url
  fb_keep_recorded "$name" "$version" "$(fb_plugin_dir "$name" "$version")/pulumi-resource-$name" && return 0
  fb_user_plugin "$name" "$version" && return 0
  if url="$(fb_plugin_override_url "$name" "$version")"; then
    if curl -fsI --connect-timeout 5 --max-time 10 "$url" >/dev/null 2>&1; then
      fb_download_plugin "$name" "$version" "$url" mirror && return 0
    else
      fb_log "    $url does not answer"
    fi
  elif fb_plugins_online "$name" "$version"; then
    fb_download_plugin "$name" "$version" "" download && return 0
  fi
  if file="$(fb_bundle_file "pulumi-resource-$name-v$version-linux-amd64.tar.gz")"; then
    fb_log "    installing $name $version from $file (sha256 checked)"
    "$FB_CLI_DIR/pulumi" plugin install resource "$name" "$version" --file "$file" --reinstall --non-interactive >&2 &&
      fb_record "$name" "$version" bundle "$file" "$(fb_plugin_dir "$name" "$version")/pulumi-resource-$name" &&
      return 0
  fi
  fb_log "ERROR: no $name plugin $version: not in your plugin cache (${FB_USER_PULUMI_HOME:-none}/plugins),"
  fb_log "  not from Pulumi's downloads or PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES, and no offline bundle"
  fb_log "  ($(fb_offline_dir)) has it; see README: 'Setup, offline included'."
  return 1
}

# Everything already there and recorded: no network, no output.
fb_toolchain_ready() {
  [ -f "$FB_TOOLCHAIN_ENV" ] && [ -f "$FB_TOOLCHAIN_RECORD" ] || return 1
  # shellcheck disable=SC1090
  source "$FB_TOOLCHAIN_ENV"
  [ -n "$(fb_pinned_version cli)" ] && [ "${FB_WANT_CLI:-}" = "$(fb_pinned_version cli)" ] || return 1
  [ -x "${FB_PULUMI_BIN_DIR:-}/pulumi" ] || return 1
  local name
  for name in "${FB_PLUGINS[@]}"; do
    [ -x "$(fb_plugin_dir "$name" "$(fb_pinned_version "$name")")/pulumi-resource-$name" ] || return 1
  done
}

fb_ensure_toolchain() {
  fb_toolchain_ready && return 0
  FB_WANT_CLI="$(fb_pinned_version cli)"
  [ -n "$FB_WANT_CLI" ] || { fb_log "ERROR: node_modules/@pulumi/pulumi is not installed (npm ci)"; return 1; }
  FB__RECORD=()
  fb_resolve_cli "$FB_WANT_CLI" || return 1
  local name
  for name in "${FB_PLUGINS[@]}"; do
    fb_resolve_plugin "$name" "$(fb_pinned_version "$name")" || return 1
  done
  fb_write_record
  # Setup installed the plugins, so the engine never needs to fetch one.
  printf 'FB_WANT_CLI=%q\nexport FB_PULUMI_BIN_DIR=%q\nexport PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true\n' \
    "$FB_WANT_CLI" "$FB_CLI_DIR" >"$FB_TOOLCHAIN_ENV"
  fb_log "    pulumi $("$FB_CLI_DIR/pulumi" version) in $FB_CLI_DIR; plugins in $PULUMI_HOME/plugins; sources in $FB_TOOLCHAIN_RECORD"
}
