import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toLabelList } from "./labels";
import type { ContainerPlan, HealthcheckPlan } from "./plan";

export interface FlaskContainerArgs {
  plan: ContainerPlan;
  /** Image ID from FlaskImage.repoDigest. */
  image: pulumi.Input<string>;
  /** The custom network's name output, so the container waits for the network. */
  customNetwork?: pulumi.Input<string>;
  healthcheck: HealthcheckPlan;
  labels: Readonly<Record<string, string>>;
}

/** The stack-output shape for one container; users and acceptance checks read it. */
export interface ContainerOutput {
  network: string;
  ip: string | null;
  gateway: string | null;
  hostPort: number | null;
  url: string | null;
}

/**
 * How long a new container may take to answer. The probes, not Docker's health
 * status, gate `up`: they poll every 100 ms; Docker checks health every 10 s.
 */
export const READY_TIMEOUT_SECONDS = 180;

/**
 * Fetches a URL from the host until it answers 200, and prints the body. Plain
 * bash over /dev/tcp, no node: a probe per container costs ~5 ms of CPU instead
 * of ~60 ms for starting node, which counts at 64 containers on 2 cores. A
 * connection that docker-proxy closes or resets while the app is not listening
 * yet reads as no status line (SIGPIPE ignored: a write to it fails instead of
 * killing bash), and the probe tries again 100 ms later.
 */
export const HTTP_PROBE = `
trap '' PIPE
url="\${PROBE_URL#http://}"
hostport="\${url%%/*}"
path="/\${url#*/}"
[ "$path" = "/$url" ] && path=/
host="\${hostport%:*}"
port="\${hostport##*:}"
deadline=$((SECONDS + PROBE_TIMEOUT_SECONDS))
exec 9<> <(:)
while :; do
  if exec 3<>"/dev/tcp/$host/$port"; then
    printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' "$path" "$hostport" >&3
    status=""
    IFS= read -r -t 2 status <&3
    if [[ "$status" == HTTP/1.?" 200 "* ]]; then
      while IFS= read -r -t 2 line <&3 && [ "\${line%$'\\r'}" != "" ]; do :; done
      IFS= read -r -d '' -t 2 body <&3
      exec 3<&-
      printf '%s' "$body"
      exit 0
    fi
    exec 3<&-
  fi 2>/dev/null
  if [ "$SECONDS" -ge "$deadline" ]; then echo "no answer from $PROBE_URL" >&2; exit 1; fi
  read -r -t 0.1 -u 9 || true
done`;

/**
 * Waits inside a none container until its app answers on loopback, then lists
 * its network interfaces (slim images have no ip tool; /sys has them).
 */
const NONE_PROBE = `docker exec -e "TRIES=$((PROBE_TIMEOUT_SECONDS * 10))" "$CONTAINER" bash -c '
for _ in $(seq "$TRIES"); do
  if bash /app/healthcheck.sh 2>/dev/null; then echo $(ls /sys/class/net); exit 0; fi
  sleep 0.1
done
echo "no answer inside $HOSTNAME" >&2; exit 1'`;

/** One `docker run -d ... flask-hello-world` of the tutorial, hardened, plus a probe that it answers. */
export class FlaskContainer extends pulumi.ComponentResource {
  public readonly dockerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  public readonly ip: pulumi.Output<string | null>;
  public readonly gateway: pulumi.Output<string | null>;
  /** What the probe saw: the page body, or the interface list for a none container. */
  public readonly probe: pulumi.Output<string>;
  public readonly output: pulumi.Output<ContainerOutput>;

  constructor(name: string, args: FlaskContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:container:FlaskContainer", name, {}, opts);
    const { plan, healthcheck } = args;

    const container = new docker.Container(
      `${name}-container`,
      {
        name: plan.dockerName,
        image: args.image,
        // "bridge" is stated, not left to the default: older providers diff forever otherwise
        // (kreuzwerker/terraform-provider-docker#603). Custom containers join via networksAdvanced.
        networkMode: plan.kind === "custom" ? undefined : plan.network,
        networksAdvanced: plan.kind === "custom" ? [{ name: args.customNetwork ?? plan.network }] : undefined,
        // Host and none containers get no ports at all: Docker drops them, and the provider
        // would then replace the container on every run.
        ports: plan.publish
          ? [
              {
                internal: plan.publish.containerPort,
                external: plan.publish.hostPort,
                ip: plan.publish.hostIp,
                protocol: "tcp",
              },
            ]
          : undefined,
        envs: [...plan.env],
        healthcheck: { ...healthcheck, tests: [...healthcheck.tests] },
        // The probe below is the readiness gate (see READY_TIMEOUT_SECONDS).
        wait: false,
        restart: "unless-stopped",
        // The official provider kills at once (timeout 0) unless told otherwise;
        // SIGTERM lets uWSGI finish its requests (it exits in ~0.3 s).
        destroyGraceSeconds: 10,
        mustRun: true,
        labels: toLabelList({ ...args.labels, "flask-bridge.network-kind": plan.kind }),
        // Least privilege: the app writes nothing; /tmp is a small tmpfs for scratch.
        user: "10001:10001",
        readOnly: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        privileged: false,
      },
      // A replacement must free its name and host port before the new one starts.
      { parent: this, deleteBeforeReplace: true },
    );

    const probe =
      plan.probeUrl !== null
        ? new command.local.Command(
            `${name}-probe`,
            {
              create: HTTP_PROBE,
              interpreter: ["bash", "-c"],
              environment: { PROBE_URL: plan.probeUrl, PROBE_TIMEOUT_SECONDS: String(READY_TIMEOUT_SECONDS) },
              triggers: [container.id],
            },
            { parent: this },
          )
        : new command.local.Command(
            `${name}-probe`,
            {
              create: NONE_PROBE,
              environment: { CONTAINER: container.name, PROBE_TIMEOUT_SECONDS: String(READY_TIMEOUT_SECONDS) },
              triggers: [container.id],
            },
            { parent: this },
          );

    const attachment = container.networkDatas.apply((datas) =>
      plan.kind === "bridge" || plan.kind === "custom"
        ? datas?.find((data) => data.networkName === plan.network)
        : undefined,
    );

    this.dockerName = container.name;
    this.containerId = container.id;
    this.ip = attachment.apply((data) => data?.ipAddress ?? null);
    this.gateway = attachment.apply((data) => data?.gateway ?? null);
    this.probe = probe.stdout;
    this.output = pulumi.all([this.ip, this.gateway]).apply(([ip, gateway]) => ({
      network: plan.network,
      ip,
      gateway,
      hostPort: plan.hostPort,
      url: plan.url,
    }));
    this.registerOutputs({
      dockerName: this.dockerName,
      containerId: this.containerId,
      ip: this.ip,
      gateway: this.gateway,
      probe: this.probe,
    });
  }
}
