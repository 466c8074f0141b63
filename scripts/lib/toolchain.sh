#!/usr/bin/env bash
# The project's own Pulumi toolchain, built from source through the Go module
# proxy (the official downloads cannot be reached from these machines) and
# cached under $FB_TOOLCHAIN_DIR, keyed by version. Sourced, never run:
#
#   source scripts/env.sh && source scripts/lib/toolchain.sh && fb_ensure_toolchain
#
# What ends up where:
#   $FB_TOOLCHAIN_DIR/pulumi-v<ver>/bin/         (= FB_PULUMI_BIN_DIR, on PATH via env.sh)
#       pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs,
#       pulumi-analyzer-policy
#   $FB_TOOLCHAIN_DIR/pulumi-resource-<name>-v<ver>/pulumi-resource-<name>
#   $PULUMI_HOME/plugins/resource-<name>-v<ver>/  (pulumi plugin install --file)
#   $FB_LOG_DIR/toolchain-*.log                   (full go output of each build)
#
# Every binary is built in a scratch dir, checked, then renamed into place, and
# only then is its ".built" marker written: an interrupted run never leaves
# something that looks done. A second run only checks markers (a few seconds).
#
# What the Go module proxy reachable here actually serves (checked 2026-11):
#  - github.com/pulumi/pulumi/pkg/v3 and sdk/v3 at release versions: yes.
#  - the nodejs language host module
#    github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3: no,
#    at any version (403). Fallback below: the host source in sdk/v3 v3.68.0,
#    the newest sdk/v3 release on the proxy whose zip still contains
#    nodejs/cmd/pulumi-language-nodejs (from v3.90.0 on it is a module of its
#    own), patched (fb__apply_host_patch) and built against sdk/v3 v3.248.0.
#    Checked with CLI and @pulumi/pulumi 3.248.0: JS and TS programs, config
#    secrets, dynamic providers, the Automation API, and policy/ as --policy-pack.
#  - github.com/pulumi/pulumi-command/provider, github.com/pulumi/pulumi-docker/provider/v4|v5:
#    no (403 for tags, commits and pseudo-versions), nor pulumi's fork of
#    terraform-plugin-sdk that any bridged provider needs. Those two plugins are
#    attempted, and reported missing when the proxy refuses their source: a
#    warning, with the list in FB_TOOLCHAIN_MISSING_PLUGINS (exported);
#    FB_TOOLCHAIN_REQUIRE_PLUGINS=1 makes it fatal.
#
# Cold build on 2 cores, Go caches empty: pulumi CLI about 7 minutes on an idle
# machine (416 s; 880 s while other jobs loaded it), then the language host
# 12 s (it shares the CLI's compiled sdk). With everything cached: about 2 s.

if ! declare -F fb_step >/dev/null || [ -z "${FB_PULUMI_BIN_DIR:-}" ] || [ -z "${PULUMI_HOME:-}" ]; then
  # shellcheck source=scripts/env.sh
  source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/env.sh"
fi

# Sources of the resource plugins, by "name@version" of the npm package's
# pulumi.version. Taken from the offline-toolchain notes; the proxy here refuses
# all of them, so these commits could not be checked from this machine.
fb__plugin_source() {
  FB__P_COMMIT="" FB__P_MODULES="" FB__P_UPSTREAM=""
  case "$1@$2" in
    command@1.2.1)
      FB__P_COMMIT=7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25 # tag v1.2.1
      FB__P_MODULES="github.com/pulumi/pulumi-command/provider"
      ;;
    docker@5.0.0)
      FB__P_COMMIT=c2baf6a4997f3f53052ee9284bcf2ef0cf8081ae
      # The notes say provider/v5; pulumi-docker's provider module was still
      # .../provider/v4 in mid-2025, so try both.
      FB__P_MODULES="github.com/pulumi/pulumi-docker/provider/v5 github.com/pulumi/pulumi-docker/provider/v4"
      FB__P_UPSTREAM=619686ddb44a889cb24fc194faf8361ef9f03738 # kreuzwerker v4.2.0
      ;;
    *) return 1 ;;
  esac
}

# The newest sdk/v3 on the proxy that still carries the nodejs language host.
FB_NODEJS_HOST_FALLBACK_SDK="${FB_NODEJS_HOST_FALLBACK_SDK:-v3.68.0}"

# Flags of pulumi's own release build (.goreleaser.yml): -trimpath, -s -w, the
# version -X (without it `pulumi version` prints nothing and the Automation API
# refuses the CLI), osusergo. grpcnotrace is grpc-go's tag to drop x/net/trace.
FB__GO_TAGS="osusergo,grpcnotrace"
FB__VERSION_PKG="github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

# ---------------------------------------------------------------- helpers ----

# fb__json FIELD.PATH < json : prints one field ("" when absent). node is
# always there (the project needs it); jq may not be.
fb__json() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v;try{v=process.argv[1].split(".").reduce((a,k)=>a==null?a:a[k],JSON.parse(s))}catch(e){}process.stdout.write(v==null?"":String(v))})' "$1"
}

fb__go() { env GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$FB__GO" "$@"; }

# Appends a line to the current build log.
fb__note() { printf '%s\n' "$*" >>"$FB__LOG"; }

fb__fail() {
  fb_log "    $1"
  if [ -s "${FB__LOG:-}" ]; then
    fb_log "    last lines of $FB__LOG:"
    tail -n 15 "$FB__LOG" | sed 's/^/      | /' >&2
  fi
  fb_log "    full log: $FB__LOG"
  return 1
}

fb__init() {
  FB__GO="$(command -v go || true)"
  [ -n "$FB__GO" ] || { [ -x /usr/local/go/bin/go ] && FB__GO=/usr/local/go/bin/go; }
  FB__PULUMI_VERSION="$(fb_npm_version @pulumi/pulumi)" || { fb_log "node_modules/@pulumi/pulumi missing: run npm ci first"; return 1; }
  FB__PULUMI_DIR="$FB_TOOLCHAIN_DIR/pulumi-v$FB__PULUMI_VERSION"
  FB__BIN="$FB__PULUMI_DIR/bin"
  FB__WORK="$FB_TOOLCHAIN_DIR/.work"
  FB__LOG="$FB_LOG_DIR/toolchain.log"
  FB__SUMDB_CHECKED=""
  FB_TOOLCHAIN_MISSING_PLUGINS=""
  FB__BUILT=0
  if [ "$FB__BIN" != "$FB_PULUMI_BIN_DIR" ]; then
    fb_log "env.sh's FB_PULUMI_BIN_DIR ($FB_PULUMI_BIN_DIR) is not $FB__BIN"
    return 1
  fi
  mkdir -p "$FB__BIN" "$FB__WORK" "$PULUMI_HOME"
}

fb__need_go() {
  [ -n "$FB__GO" ] || { fb_log "no go on PATH nor in /usr/local/go: it is needed to build the toolchain"; return 1; }
}

# Is the checksum database reachable? The go command asks for it through the
# module proxy (<proxy>/sumdb/<name>/...) before trying it directly. Here it
# is reachable through the proxy, but answers 404 for some modules that the
# proxy itself serves: fb__download then retries just that module with
# GONOSUMDB. Where it is not reachable at all, GOSUMDB=off (the go.sum of each
# module still pins all its dependencies). Not GOPRIVATE: it would bypass the
# proxy, the only way out of these machines.
fb__check_sumdb() {
  [ -n "$FB__SUMDB_CHECKED" ] && return 0
  FB__SUMDB_CHECKED=1
  local db proxy p
  db="$(fb__go env GOSUMDB)"
  db="${db%% *}" db="${db%%+*}"
  if [ "$db" = off ]; then
    fb_log "    checksum database: off (set by the environment)"
    return 0
  fi
  command -v curl >/dev/null || { fb_log "    checksum database: not probed (no curl); failures will be retried per module"; return 0; }
  proxy=""
  for p in $(fb__go env GOPROXY | tr ',|' '  '); do
    case "$p" in http*) proxy="$p" && break ;; esac
  done
  if [ -n "$proxy" ] && curl -fsS -m 20 -o /dev/null "$proxy/sumdb/$db/supported" 2>/dev/null; then
    fb_log "    checksum database $db: reachable through the module proxy"
  elif curl -fsS -m 20 -o /dev/null "https://$db/latest" 2>/dev/null; then
    fb_log "    checksum database $db: reachable directly"
  else
    export GOSUMDB=off
    fb_log "    checksum database $db: unreachable, so GOSUMDB=off (go.sum files still pin every dependency)"
  fi
}

# fb__download MODULE@QUERY: `go mod download -json`; the JSON goes to
# FB__DL_JSON. On error the message goes to the log and FB__DL_ERROR, and it
# returns 1. Call it directly, not in $(...): it sets globals.
fb__download() {
  local q="$1" err mod
  fb__check_sumdb
  fb__note "+ go mod download -json $q"
  FB__DL_JSON="$(cd "$FB__WORK" && fb__go mod download -json "$q" 2>>"$FB__LOG")"
  err="$(printf '%s' "$FB__DL_JSON" | fb__json Error)"
  if [ -n "$err" ] && printf '%s' "$err" | grep -q 'verifying' && [ "${GOSUMDB:-}" != off ]; then
    mod="${q%@*}"
    fb_log "    checksum database cannot vouch for $mod; retrying with GONOSUMDB=$mod"
    export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$mod"
    FB__DL_JSON="$(cd "$FB__WORK" && fb__go mod download -json "$q" 2>>"$FB__LOG")"
    err="$(printf '%s' "$FB__DL_JSON" | fb__json Error)"
  fi
  printf '%s\n' "$FB__DL_JSON" >>"$FB__LOG"
  FB__DL_ERROR="$err"
  if [ -z "$err" ] && [ -z "$(printf '%s' "$FB__DL_JSON" | fb__json Dir)" ]; then
    FB__DL_ERROR="no Dir in the output of go mod download"
  fi
  [ -z "$FB__DL_ERROR" ]
}

# The last download error on one line, without the proxy's URL (the log has it all).
fb__short_error() { printf '%s' "$FB__DL_ERROR" | tr '\n\t' '  ' | sed -E 's#reading [a-z]+://[^ ]*: ##; s#  +# #g'; }

# fb__dl FIELD: a field of the last successful download.
fb__dl() { printf '%s' "$FB__DL_JSON" | fb__json "$1"; }

# fb__copy_module DIR DEST: the module cache is read-only; builds need to edit go.mod.
fb__copy_module() {
  rm -rf "$2" && mkdir -p "$(dirname "$2")" && cp -r "$1" "$2" && chmod -R u+w "$2"
}

# fb__drop_local_replaces DIR VERSION: drops every replace that points at a
# local path (../sdk and the like, meaningless outside pulumi's repository)
# and requires that module at VERSION instead. Replaces that point at other
# module versions (the clipboard fork, ...) stay.
fb__drop_local_replaces() {
  local dir="$1" ver="$2" olds old
  olds="$(cd "$dir" && fb__go mod edit -json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const r of JSON.parse(s).Replace||[]){if(!r.New.Version&&/^[.\/]/.test(r.New.Path))console.log(r.Old.Path)}})')" || return 1
  for old in $olds; do
    fb__note "+ go mod edit -dropreplace=$old -require=$old@$ver"
    (cd "$dir" && fb__go mod edit -dropreplace="$old" -require="$old@$ver") || return 1
  done
}

# fb__go_build LABEL DIR PKG OUT [TAGS [LDFLAGS]]: go build in the background,
# a heartbeat every 30 s, verbose output to the log.
fb__go_build() {
  local label="$1" dir="$2" pkg="$3" out="$4" tags="${5:-$FB__GO_TAGS}" ldflags="${6:-}"
  fb__note "+ (cd $dir && CGO_ENABLED=0 go build -mod=mod -v -trimpath -tags $tags -ldflags '$ldflags' -o $out $pkg)"
  (cd "$dir" && exec env CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
    "$FB__GO" build -mod=mod -v -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out" "$pkg") >>"$FB__LOG" 2>&1 &
  local pid=$! hb rc=0 kids
  fb_heartbeat "$pid" "$label (log: $FB__LOG)" &
  hb=$!
  # Disowned, so that stopping it below prints no "Terminated".
  disown "$hb" 2>/dev/null || true
  wait "$pid" || rc=$?
  kids="$(pgrep -P "$hb" 2>/dev/null || true)"
  # shellcheck disable=SC2086 # kids: a list of pids
  kill "$hb" $kids 2>/dev/null || true
  return "$rc"
}

# fb__is_built FILE RECIPE: FILE is executable and its marker names RECIPE.
fb__is_built() {
  [ -x "$1" ] && [ -f "$(dirname "$1")/.$(basename "$1").built" ] &&
    [ "$(head -n1 "$(dirname "$1")/.$(basename "$1").built")" = "$2" ]
}

# fb__put SRC DEST RECIPE [DETAIL]: renames SRC onto DEST (same file system),
# then writes the marker. Until the marker exists the artifact is not done.
fb__put() {
  local src="$1" dest="$2" marker
  marker="$(dirname "$dest")/.$(basename "$dest").built"
  mkdir -p "$(dirname "$dest")" || return 1
  rm -f "$marker"
  chmod 0755 "$src" && mv -f "$src" "$dest" || return 1
  printf '%s\n%s\nbuilt %s with %s\n' "$3" "${4:-}" "$(date -u +%FT%TZ)" "$("$FB__GO" version 2>/dev/null || echo '-')" >"$marker.tmp" &&
    mv -f "$marker.tmp" "$marker" || return 1
  FB__BUILT=$((FB__BUILT + 1))
}

fb__workdir() { rm -rf "${FB__WORK:?}/${1:?}" && mkdir -p "$FB__WORK/$1" && printf '%s\n' "$FB__WORK/$1"; }

# ------------------------------------------------------------- the pieces ----

fb__ensure_pulumi_cli() {
  local v="$FB__PULUMI_VERSION" dest="$FB__BIN/pulumi" recipe dir hash work
  recipe="pulumi v$v: github.com/pulumi/pulumi/pkg/v3@v$v ./cmd/pulumi tags=$FB__GO_TAGS recipe=1"
  if fb__is_built "$dest" "$recipe" && [ "$("$dest" version 2>/dev/null)" = "v$v" ]; then
    fb_log "    reusing cached $dest"
    return 0
  fi
  fb__need_go || return 1
  FB__LOG="$FB_LOG_DIR/toolchain-pulumi-v$v.log"
  : >"$FB__LOG"
  fb_log "    building from source (a cold build takes about 8 minutes on 2 cores; log: $FB__LOG)"
  fb__download "github.com/pulumi/pulumi/pkg/v3@v$v" || { fb__fail "cannot download pkg/v3@v$v: $FB__DL_ERROR"; return 1; }
  dir="$(fb__dl Dir)" hash="$(fb__dl Origin.Hash)"
  work="$(fb__workdir "pulumi-v$v")" || return 1
  fb__copy_module "$dir" "$work/pkg" || return 1
  # pkg/v3's go.mod has `replace .../sdk/v3 => ../sdk`.
  fb__drop_local_replaces "$work/pkg" "v$v" || { fb__fail "go mod edit failed"; return 1; }
  fb__go_build "go build pulumi" "$work/pkg" ./cmd/pulumi "$work/pulumi" "$FB__GO_TAGS" \
    "-s -w -X $FB__VERSION_PKG=v$v" || { fb__fail "go build of the pulumi CLI failed"; return 1; }
  [ "$("$work/pulumi" version)" = "v$v" ] || { fb__fail "the new binary does not print v$v"; return 1; }
  fb__put "$work/pulumi" "$dest" "$recipe" "source: pkg/v3@v$v ($hash)" || return 1
  rm -rf "$work"
}

# fb__apply_host_patch DIR: patches v3.68.0's nodejs host (main.go) so that it
# builds against the sdk/v3 of the CLI and does what today's engine asks of it:
#  - Run: the program talks to the engine's resource monitor directly. v3.68's
#    monitor proxy and sync pipes (proxy.go, left out) only forwarded the RPCs
#    of that day, and @pulumi/pulumi 3.248 no longer uses the pipes.
#  - RunPlugin: runs node plugins with @pulumi/pulumi/cmd/run-plugin, as hosts
#    since about v3.100 do. The engine runs policy packs this way whenever a
#    language host is found; v3.68's answer was "not supported", so every
#    `--policy-pack` failed.
#  - About and npm.Install: their signatures in today's sdk.
fb__apply_host_patch() {
  local p="$FB__WORK/host.patch"
  cat >"$p" <<'PATCH'
--- a/main.go
+++ b/main.go
@@ -46,7 +46,6 @@
 	"github.com/hashicorp/go-multierror"
 	opentracing "github.com/opentracing/opentracing-go"
 	"google.golang.org/grpc"
-	"google.golang.org/grpc/credentials/insecure"
 
 	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
 	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
@@ -473,68 +472,9 @@
 
 // Run is the RPC endpoint for LanguageRuntimeServer::Run
 func (host *nodeLanguageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
-	tracingSpan := opentracing.SpanFromContext(ctx)
-
-	// Make a connection to the real monitor that we will forward messages to.
-	conn, err := grpc.Dial(
-		req.GetMonitorAddress(),
-		grpc.WithTransportCredentials(insecure.NewCredentials()),
-		rpcutil.GrpcChannelOptions(),
-	)
-	if err != nil {
-		return nil, err
-	}
-
-	// Make a client around that connection.  We can then make our own server that will act as a
-	// monitor for the sdk and forward to the real monitor.
-	target := pulumirpc.NewResourceMonitorClient(conn)
-
-	// Channel to control the server lifetime.  Once `Run` finishes, we'll shutdown the server.
-	serverCancel := make(chan bool)
-	defer func() {
-		serverCancel <- true
-		close(serverCancel)
-	}()
-
-	// Launch the rpc server giving it the real monitor to forward messages to.
-	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
-		Cancel: serverCancel,
-		Init: func(srv *grpc.Server) error {
-			pulumirpc.RegisterResourceMonitorServer(srv, &monitorProxy{target: target})
-			return nil
-		},
-		Options: rpcutil.OpenTracingServerInterceptorOptions(tracingSpan),
-	})
-	if err != nil {
-		return nil, err
-	}
-
-	// Create the pipes we'll use to communicate synchronously with the nodejs process. Once we're
-	// done using the pipes clean them up so we don't leave anything around in the user file system.
-	pipes, pipesDone, err := createAndServePipes(ctx, target)
-	if err != nil {
-		return nil, err
-	}
-	defer pipes.shutdown()
-
-	// Channel producing the final response we want to issue to our caller. Will get the result of
-	// the actual nodejs process we launch, or any results caused by errors in our server/pipes.
-	responseChannel := make(chan *pulumirpc.RunResponse)
-	defer close(responseChannel)
-
-	// Forward any rpc server or pipe errors to our output channel.
-	go func() {
-		err := <-handle.Done
-		if err != nil {
-			responseChannel <- &pulumirpc.RunResponse{Error: err.Error()}
-		}
-	}()
-	go func() {
-		err := <-pipesDone
-		if err != nil {
-			responseChannel <- &pulumirpc.RunResponse{Error: err.Error()}
-		}
-	}()
+	// flask-bridge: the program talks to the engine's resource monitor directly, as with the host of
+	// pulumi v3.100 and later. v3.68.0's monitor proxy and sync pipes only knew the RPCs of its day.
+	responseChannel := make(chan *pulumirpc.RunResponse, 1)
 
 	nodeBin, err := exec.LookPath("node")
 	if err != nil {
@@ -552,13 +492,8 @@
 			"It looks like the Pulumi SDK has not been installed. Have you run npm install or yarn install?")
 	}
 
-	// now, launch the nodejs process and actually run the user code in it.
-	go host.execNodejs(ctx, responseChannel, req, nodeBin, runPath,
-		fmt.Sprintf("127.0.0.1:%d", handle.Port), pipes.directory())
-
-	// Wait for one of our launched goroutines to signal that we're done.  This might be our proxy
-	// (in the case of errors), or the launched nodejs completing (either successfully, or with
-	// errors).
+	go host.execNodejs(ctx, responseChannel, req, nodeBin, runPath, req.GetMonitorAddress(), "")
+
 	return <-responseChannel, nil
 }
 
@@ -599,10 +534,7 @@
 		}
 		nodeargs = append(nodeargs, args...)
 
-		if logging.V(5) {
-			commandStr := strings.Join(nodeargs, " ")
-			logging.V(5).Infoln("Language host launching process: ", nodeBin, commandStr)
-		}
+		logging.V(5).Infoln("Language host launching process: ", nodeBin, strings.Join(nodeargs, " "))
 
 		// Now simply spawn a process to execute the requested program, wiring up stdout/stderr directly.
 		var errResult string
@@ -768,7 +700,7 @@
 
 	stdout.Write([]byte("Installing dependencies...\n\n"))
 
-	_, err = npm.Install(ctx, req.Directory, false /*production*/, stdout, stderr)
+	_, err = npm.Install(ctx, npm.AutoPackageManager, req.Directory, false /*production*/, stdout, stderr)
 	if err != nil {
 		return fmt.Errorf("npm install failed: %w", err)
 	}
@@ -778,7 +710,7 @@
 	return closer.Close()
 }
 
-func (host *nodeLanguageHost) About(ctx context.Context, req *pbempty.Empty) (*pulumirpc.AboutResponse, error) {
+func (host *nodeLanguageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
 	getResponse := func(execString string, args ...string) (string, string, error) {
 		ex, err := executable.FindExecutable(execString)
 		if err != nil {
@@ -1001,8 +933,78 @@
 	}, nil
 }
 
+// RunPlugin runs a plugin written for node (a policy pack, or a provider) with @pulumi/pulumi's
+// cmd/run-plugin, streaming its output back, as the engine of pulumi v3.100 and later expects of
+// the language host. Added by flask-bridge: v3.68.0's host answered "not supported".
 func (host *nodeLanguageHost) RunPlugin(
 	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
 ) error {
-	return errors.New("not supported")
+	ctx := server.Context()
+	programDir := req.GetInfo().GetProgramDirectory()
+	if programDir == "" {
+		programDir = req.GetProgram() //nolint:staticcheck // older engines
+	}
+
+	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
+	if err != nil {
+		return err
+	}
+	defer closer.Close()
+
+	nodeBin, err := exec.LookPath("node")
+	if err != nil {
+		return err
+	}
+
+	// The plugin's own runtime options (PulumiPolicy.yaml, PulumiPlugin.yaml), else the host's.
+	typescript, tsconfigpath, nodeargs := host.typescript, host.tsconfigpath, host.nodeargs
+	if opts := req.GetInfo().GetOptions().AsMap(); opts != nil {
+		if v, ok := opts["typescript"].(bool); ok {
+			typescript = v
+		}
+		if v, ok := opts["tsconfig"].(string); ok {
+			tsconfigpath = v
+		}
+		if v, ok := opts["nodeargs"].(string); ok {
+			nodeargs = v
+		}
+	}
+	env := req.GetEnv()
+	if typescript {
+		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
+	}
+	if tsconfigpath != "" {
+		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfigpath)
+	}
+
+	// Resolve cmd/run-plugin from the plugin's directory: it has its own node_modules.
+	cmd := exec.CommandContext(ctx, nodeBin, "-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run-plugin'))")
+	cmd.Dir = programDir
+	out, err := cmd.Output()
+	if err != nil {
+		return fmt.Errorf("could not find @pulumi/pulumi/cmd/run-plugin from %s; run npm install there: %w",
+			programDir, err)
+	}
+	runPath := strings.TrimSpace(string(out))
+
+	args, err := shlex.Split(nodeargs)
+	if err != nil {
+		return err
+	}
+	args = append(args, runPath, programDir)
+	args = append(args, req.GetArgs()...)
+	logging.V(5).Infoln("Language host launching plugin: ", nodeBin, strings.Join(args, " "))
+
+	cmd = exec.Command(nodeBin, args...)
+	cmd.Dir = req.GetPwd()
+	cmd.Env = env
+	cmd.Stdout, cmd.Stderr = stdout, stderr
+	if err := cmd.Run(); err != nil {
+		var exiterr *exec.ExitError
+		if errors.As(err, &exiterr) {
+			return fmt.Errorf("Program exited with non-zero exit code: %d", exiterr.ExitCode())
+		}
+		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err)
+	}
+	return closer.Close()
 }
PATCH
  fb__note "+ patch -p1 -d $1 < $p"
  if command -v patch >/dev/null; then
    patch -p1 -d "$1" --no-backup-if-mismatch <"$p" >>"$FB__LOG" 2>&1
  else
    (cd "$1" && git apply -p1 "$p") >>"$FB__LOG" 2>&1
  fi
}

# The language host. First the right one: the module at the commit of the
# pkg/v3 tag (it has no tags of its own). Where the proxy refuses it, build
# the host that sdk/v3 $FB_NODEJS_HOST_FALLBACK_SDK still contained.
fb__ensure_language_host() {
  local v="$FB__PULUMI_VERSION" dest="$FB__BIN/pulumi-language-nodejs" recipe dir work hash hv detail
  recipe="pulumi-language-nodejs for pulumi v$v recipe=2"
  if fb__is_built "$dest" "$recipe"; then
    fb_log "    reusing cached $dest ($(sed -n 2p "$FB__BIN/.pulumi-language-nodejs.built"))"
    return 0
  fi
  fb__need_go || return 1
  FB__LOG="$FB_LOG_DIR/toolchain-pulumi-language-nodejs-v$v.log"
  : >"$FB__LOG"
  work="$(fb__workdir "pulumi-language-nodejs-v$v")" || return 1
  fb__download "github.com/pulumi/pulumi/pkg/v3@v$v" || { fb__fail "cannot download pkg/v3@v$v: $FB__DL_ERROR"; return 1; }
  hash="$(fb__dl Origin.Hash)"
  if [ -n "$hash" ] && fb__download "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@$hash"; then
    dir="$(fb__dl Dir)"
    fb__copy_module "$dir" "$work/host" || return 1
    # Its go.mod replaces pkg/v3 => ../../../../pkg and sdk/v3 => ../../..
    fb__drop_local_replaces "$work/host" "v$v" || { fb__fail "go mod edit failed"; return 1; }
    hv="v$v" detail="source: pulumi-language-nodejs/v3@$hash (the pkg/v3 v$v tag)"
    fb__go_build "go build pulumi-language-nodejs" "$work/host" . "$work/out" "$FB__GO_TAGS" \
      "-s -w -X $FB__VERSION_PKG=$hv" || { fb__fail "go build of the language host failed"; return 1; }
  else
    hv="$FB_NODEJS_HOST_FALLBACK_SDK"
    fb_log "    WARNING: the proxy refuses the nodejs language host of v$v ($(fb__short_error))"
    fb_log "    WARNING: building instead sdk/v3@$hv's host, patched (fb__apply_host_patch) and built against sdk/v3@v$v"
    fb__download "github.com/pulumi/pulumi/sdk/v3@$hv" || { fb__fail "cannot download sdk/v3@$hv: $FB__DL_ERROR"; return 1; }
    dir="$(fb__dl Dir)/nodejs/cmd/pulumi-language-nodejs"
    [ -f "$dir/main.go" ] || { fb__fail "sdk/v3@$hv has no nodejs/cmd/pulumi-language-nodejs"; return 1; }
    mkdir -p "$work/host" && cp "$dir/main.go" "$work/host/" && chmod u+w "$work/host/main.go" || return 1
    fb__apply_host_patch "$work/host" || { fb__fail "the patch does not apply to sdk/v3@$hv's main.go"; return 1; }
    # The sdk at the CLI's version gives the protocol of the engine that calls the host.
    fb__download "github.com/pulumi/pulumi/sdk/v3@v$v" || { fb__fail "cannot download sdk/v3@v$v: $FB__DL_ERROR"; return 1; }
    cp "$(fb__dl Dir)/go.sum" "$work/host/go.sum" && chmod u+w "$work/host/go.sum" || return 1
    printf 'module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3\n\ngo 1.25\n\nrequire github.com/pulumi/pulumi/sdk/v3 v%s\n' \
      "$v" >"$work/host/go.mod" || return 1
    hv="${hv}+flaskbridge.1"
    detail="source: sdk/v3@${hv%%+*} nodejs/cmd/pulumi-language-nodejs/main.go, patched, with sdk/v3@v$v (the proxy refuses the v$v host)"
    # Its -X version says what it is, so `pulumi about` shows "language nodejs ${hv#v}".
    fb__go_build "go build pulumi-language-nodejs" "$work/host" . "$work/out" \
      "$FB__GO_TAGS" "-s -w -X $FB__VERSION_PKG=$hv" || { fb__fail "go build of the language host failed"; return 1; }
  fi
  fb__go version -m "$work/out" 2>>"$FB__LOG" | grep -q 'pulumi-language-nodejs' || { fb__fail "the new binary is not a language host"; return 1; }
  fb__put "$work/out" "$dest" "$recipe" "$detail" || return 1
  fb_log "    $detail"
  rm -rf "$work"
}

# The small node scripts the engine looks for beside `pulumi`:
#  - pulumi-resource-pulumi-nodejs, for pulumi.dynamic resources: from the
#    installed @pulumi/pulumi (also in sdk/v3's nodejs/dist);
#  - pulumi-analyzer-policy: gone from sdk/nodejs/dist since about v3.90; the
#    engine now runs policy packs through the language host (RunPlugin) and
#    only falls back to this script when no language host is found. Copied
#    from the sdk/v3 that has it, for that fallback.
# There is no pulumi-language-nodejs-exec (that -exec helper is Python's).
fb__ensure_node_scripts() {
  local v="$FB__PULUMI_VERSION" src dir f recipe
  src="$FB_REPO_ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
  recipe="pulumi-resource-pulumi-nodejs from @pulumi/pulumi $v"
  if fb__is_built "$FB__BIN/pulumi-resource-pulumi-nodejs" "$recipe" && cmp -s "$src" "$FB__BIN/pulumi-resource-pulumi-nodejs"; then
    fb_log "    reusing cached pulumi-resource-pulumi-nodejs"
  else
    [ -f "$src" ] || { fb_log "$src missing: run npm ci"; return 1; }
    cp "$src" "$FB__BIN/.pulumi-resource-pulumi-nodejs.tmp" &&
      fb__put "$FB__BIN/.pulumi-resource-pulumi-nodejs.tmp" "$FB__BIN/pulumi-resource-pulumi-nodejs" "$recipe" || return 1
    fb_log "    copied pulumi-resource-pulumi-nodejs from node_modules/@pulumi/pulumi"
  fi
  recipe="pulumi-analyzer-policy recipe=1"
  if fb__is_built "$FB__BIN/pulumi-analyzer-policy" "$recipe"; then
    fb_log "    reusing cached pulumi-analyzer-policy"
    return 0
  fi
  fb__need_go || return 1
  FB__LOG="$FB_LOG_DIR/toolchain-node-scripts.log"
  : >"$FB__LOG"
  for f in "v$v" "$FB_NODEJS_HOST_FALLBACK_SDK"; do
    fb__download "github.com/pulumi/pulumi/sdk/v3@$f" || continue
    dir="$(fb__dl Dir)"
    if [ -f "$dir/nodejs/dist/pulumi-analyzer-policy" ]; then
      cp "$dir/nodejs/dist/pulumi-analyzer-policy" "$FB__BIN/.pulumi-analyzer-policy.tmp" &&
        fb__put "$FB__BIN/.pulumi-analyzer-policy.tmp" "$FB__BIN/pulumi-analyzer-policy" "$recipe" "source: sdk/v3@$f nodejs/dist" || return 1
      fb_log "    copied pulumi-analyzer-policy from sdk/v3@$f nodejs/dist"
      return 0
    fi
  done
  fb__fail "no sdk/v3 zip with nodejs/dist/pulumi-analyzer-policy could be had"
}

# fb__ensure_plugin NAME: pulumi-resource-NAME at the npm package's pulumi.version.
fb__ensure_plugin() {
  local name="$1" ver dest recipe mod ok="" dir work ldmod
  ver="$(fb_plugin_version "@pulumi/$name")" || { fb_log "node_modules/@pulumi/$name missing: run npm ci"; return 1; }
  dest="$FB_TOOLCHAIN_DIR/pulumi-resource-$name-v$ver/pulumi-resource-$name"
  recipe="pulumi-resource-$name v$ver recipe=1"
  if fb__is_built "$dest" "$recipe"; then
    fb_log "    reusing cached $dest"
    return 0
  fi
  fb__need_go || return 1
  FB__LOG="$FB_LOG_DIR/toolchain-pulumi-resource-$name-v$ver.log"
  : >"$FB__LOG"
  fb__plugin_source "$name" "$ver" || {
    fb_log "    no known source commit for @pulumi/$name pulumi.version $ver: add it to fb__plugin_source"
    return 1
  }
  for mod in $FB__P_MODULES; do
    fb__download "$mod@$FB__P_COMMIT" && ok=1 && break
    fb__note "refused: $mod@$FB__P_COMMIT: $FB__DL_ERROR"
  done
  if [ -z "$ok" ]; then
    fb_log "    WARNING: the Go module proxy refuses the source of pulumi-resource-$name v$ver"
    fb_log "    WARNING: ($(fb__short_error))"
    fb_log "    WARNING: pulumi-resource-$name is NOT available; programs using @pulumi/$name will fail (log: $FB__LOG)"
    FB_TOOLCHAIN_MISSING_PLUGINS="${FB_TOOLCHAIN_MISSING_PLUGINS:+$FB_TOOLCHAIN_MISSING_PLUGINS }$name@$ver"
    return 0
  fi
  # Not exercised on this machine from here on: no proxy reachable from it
  # serves these modules. Written from the notes, unverified.
  dir="$(fb__dl Dir)"
  work="$(fb__workdir "pulumi-resource-$name-v$ver")" || return 1
  fb__copy_module "$dir" "$work/provider" || return 1
  ldmod="$(cd "$work/provider" && fb__go mod edit -json | fb__json Module.Path)"
  case "$name" in
    command)
      fb__go_build "go build pulumi-resource-command" "$work/provider" ./cmd/pulumi-resource-command "$work/out" \
        "$FB__GO_TAGS" "-s -w -X $ldmod/pkg/version.Version=v$ver" || { fb__fail "go build failed"; return 1; }
      ;;
    docker)
      # provider/go.mod has `replace .../terraform-provider-docker => ../upstream`:
      # rebuild that layout. kreuzwerker's go.mod declares the path
      # github.com/terraform-providers/terraform-provider-docker.
      fb__download "github.com/kreuzwerker/terraform-provider-docker@$FB__P_UPSTREAM" || { fb__fail "upstream: $FB__DL_ERROR"; return 1; }
      fb__copy_module "$(fb__dl Dir)" "$work/upstream" || return 1
      # pulumi-docker patches a `shim` package into upstream: resources.go calls
      # shim.NewProvider(); internal/ cannot be imported from another module.
      mkdir -p "$work/upstream/shim"
      cat >"$work/upstream/shim/shim.go" <<'EOF'
// Package shim exposes upstream's internal provider to pulumi-docker.
// Generated by scripts/lib/toolchain.sh.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

func NewProvider() *schema.Provider { return provider.New("dev")() }
EOF
      # main.go embeds schema-embed.json, which is generated, not committed.
      fb__note "+ (cd cmd/pulumi-resource-docker && VERSION=$ver go run -mod=mod ./generate.go)"
      (cd "$work/provider/cmd/pulumi-resource-docker" && VERSION="$ver" fb__go run -mod=mod ./generate.go) >>"$FB__LOG" 2>&1 ||
        { fb__fail "schema-embed.json generation failed"; return 1; }
      # The version -X takes no leading v for this provider; no_compose leaves
      # out upstream's compose support.
      fb__go_build "go build pulumi-resource-docker" "$work/provider" ./cmd/pulumi-resource-docker "$work/out" \
        "no_compose" "-s -w -X $ldmod/pkg/version.Version=$ver" || { fb__fail "go build failed"; return 1; }
      ;;
  esac
  fb__put "$work/out" "$dest" "$recipe" "source: $ldmod@$FB__P_COMMIT" || return 1
  rm -rf "$work"
}

# Installs each cached plugin into PULUMI_HOME (skipped when the same binary
# is already there), then checks `pulumi plugin ls`.
fb__install_plugins() {
  local name ver bin inst n=0 listed
  for name in command docker; do
    ver="$(fb_plugin_version "@pulumi/$name")" || return 1
    bin="$FB_TOOLCHAIN_DIR/pulumi-resource-$name-v$ver/pulumi-resource-$name"
    if ! fb__is_built "$bin" "pulumi-resource-$name v$ver recipe=1"; then
      fb_log "    $name v$ver: not built, nothing to install"
      continue
    fi
    inst="$PULUMI_HOME/plugins/resource-$name-v$ver"
    if [ ! -e "$inst.partial" ] && cmp -s "$bin" "$inst/pulumi-resource-$name"; then
      fb_log "    $name v$ver: already installed in $PULUMI_HOME"
    else
      "$FB__BIN/pulumi" plugin install resource "$name" "$ver" --file "$bin" >&2 || return 1
      FB__BUILT=$((FB__BUILT + 1))
      [ ! -e "$inst.partial" ] || { fb_log "    $inst.partial left behind"; return 1; }
    fi
    listed="$("$FB__BIN/pulumi" plugin ls --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const [n,v]=process.argv.slice(1);process.stdout.write((JSON.parse(s)||[]).some(p=>p.kind==="resource"&&p.name===n&&p.version===v)?"yes":"no")})' "$name" "$ver")"
    [ "$listed" = yes ] || { fb_log "    pulumi plugin ls does not list $name $ver"; return 1; }
    n=$((n + 1))
  done
  fb_log "    $n of 2 resource plugins installed and listed by pulumi plugin ls ($PULUMI_HOME)"
}

# ------------------------------------------------------------------ entry ----

fb_ensure_toolchain() {
  local start=$SECONDS lockfd
  fb__init || fb_die "toolchain: cannot start"
  # One build at a time, even if two setups run at once.
  if command -v flock >/dev/null; then
    exec {lockfd}>"$FB_TOOLCHAIN_DIR/.lock"
    flock -w 3600 "$lockfd" || fb_die "toolchain: another setup holds $FB_TOOLCHAIN_DIR/.lock"
  fi
  fb_log "toolchain: pulumi v$FB__PULUMI_VERSION in $FB__BIN (cache $FB_TOOLCHAIN_DIR)"
  # Cheap plugins first: their source is small (and, here, refused at once).
  fb_step "resource plugin command" fb__ensure_plugin command
  fb_step "pulumi CLI v$FB__PULUMI_VERSION" fb__ensure_pulumi_cli
  fb_step "pulumi-language-nodejs" fb__ensure_language_host
  fb_step "node helper scripts" fb__ensure_node_scripts
  fb_step "resource plugin docker" fb__ensure_plugin docker
  fb_step "plugins in PULUMI_HOME" fb__install_plugins
  [ -n "${lockfd:-}" ] && exec {lockfd}>&-
  export FB_TOOLCHAIN_MISSING_PLUGINS
  if [ -n "$FB_TOOLCHAIN_MISSING_PLUGINS" ]; then
    fb_log "toolchain: WARNING: missing resource plugins: $FB_TOOLCHAIN_MISSING_PLUGINS (their source cannot be had here)"
    [ "${FB_TOOLCHAIN_REQUIRE_PLUGINS:-0}" = 1 ] && fb_die "toolchain: FB_TOOLCHAIN_REQUIRE_PLUGINS=1 and plugins are missing"
  fi
  if [ "$FB__BUILT" = 0 ]; then
    fb_log "toolchain: everything reused from the cache; ready in $((SECONDS - start))s"
  else
    fb_log "toolchain: ready in $((SECONDS - start))s ($FB__BUILT piece(s) built or installed)"
  fi
}
