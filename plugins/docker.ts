import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as provider from "@pulumi/pulumi/provider";
import { changedKeys, recordInputs, sleep, typeOf } from "./common";

/**
 * Stand-in for pulumi-resource-docker 5.0.0: Image, Network and Container,
 * with the properties flask-bridge uses, over the Docker Engine API.
 */

const VERSION = "5.0.0";
const API = "/v1.41"; // Debian's docker.io 20.10; newer engines accept it too.
const SOCKET = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");

// biome-ignore lint/suspicious/noExplicitAny: Engine API JSON and engine property bags are untyped.
type Json = any;

class DockerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function api(method: string, route: string, body?: unknown): Promise<Json> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = http.request(
      {
        socketPath: SOCKET,
        method,
        path: `${API}${route}`,
        headers: payload ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } : {},
      },
      (response) => {
        let text = "";
        response.on("data", (chunk) => {
          text += chunk;
        });
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const parsed = text ? safeJson(text) : undefined;
          if (status >= 400) {
            reject(new DockerError(status, parsed?.message ?? text.trim()));
          } else {
            resolve(parsed);
          }
        });
      },
    );
    request.on("error", reject);
    if (payload) request.write(payload);
    request.end();
  });
}

function safeJson(text: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.trim() };
  }
}

async function inspectOrUndefined(route: string): Promise<Json | undefined> {
  try {
    return await api("GET", route);
  } catch (error) {
    if (error instanceof DockerError && error.status === 404) return undefined;
    throw error;
  }
}

function labelMap(labels: { label: string; value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((labels ?? []).map(({ label, value }) => [label, value]));
}

/** "2s" → nanoseconds, as the Engine API wants durations. */
function nanos(duration: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration ?? "");
  if (!match) return 0;
  const unit = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[match[2] as "ms" | "s" | "m" | "h"];
  return Math.round(Number(match[1]) * unit);
}

// ---------------------------------------------------------------- Image

/** Hash of everything that goes into a build: every file in the context, the Dockerfile and the args. */
function contextDigest(inputs: Json): string {
  const hash = createHash("sha256");
  const context = path.resolve(inputs.build?.context ?? ".");
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.isFile()) {
        hash.update(path.relative(context, full)).update("\0").update(fs.readFileSync(full)).update("\0");
      }
    }
  };
  walk(context);
  hash.update(JSON.stringify([inputs.build?.dockerfile, inputs.build?.args, inputs.imageName]));
  return `sha256:${hash.digest("hex")}`;
}

function dockerCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("docker", args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker ${args[0]} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Stamped on every image the stand-in builds, so an identical rebuild can be skipped. */
const BUILD_KEY_LABEL = "com.pulumi.stand-in.build-key";

const image = {
  async check(news: Json) {
    return { inputs: { ...news, contextDigest: contextDigest(news) } };
  },
  async create(inputs: Json) {
    const build = inputs.build ?? {};
    // The context digest plus the base image's ID: what Docker's layer cache would key on.
    const base = build.args?.BASE_IMAGE
      ? await inspectOrUndefined(`/images/${encodeURIComponent(build.args.BASE_IMAGE)}/json`)
      : undefined;
    const buildKey = `${inputs.contextDigest}+${base?.Id ?? "none"}`;
    let info = await inspectOrUndefined(`/images/${encodeURIComponent(inputs.imageName)}/json`);
    // Adopt an image this plugin already built from the same inputs: a cached
    // `docker build` still took 2.5 s of every up from an empty stack.
    if (info?.Config?.Labels?.[BUILD_KEY_LABEL] !== buildKey) {
      const args = Object.entries(build.args ?? {}).flatMap(([key, value]) => ["--build-arg", `${key}=${value}`]);
      // The classic builder: the v28 client has no buildx here, and the cache works the same.
      await dockerCli(
        [
          "build",
          "--quiet",
          "-t",
          inputs.imageName,
          "-f",
          build.dockerfile ?? "Dockerfile",
          "--label",
          `${BUILD_KEY_LABEL}=${buildKey}`,
          ...args,
          build.context ?? ".",
        ],
        { ...process.env, DOCKER_BUILDKIT: "0" },
      );
      info = await api("GET", `/images/${encodeURIComponent(inputs.imageName)}/json`);
    }
    const outs = {
      ...inputs,
      repoDigest: info.Id,
      baseImageName: build.args?.BASE_IMAGE ?? "",
      context: build.context ?? ".",
      dockerfile: build.dockerfile ?? "Dockerfile",
      platform: "",
      registryServer: "",
    };
    return { id: info.Id as string, outs: recordInputs(outs, inputs) };
  },
  async read(id: string, props: Json) {
    const info = await inspectOrUndefined(`/images/${encodeURIComponent(id)}/json`);
    return info ? { id, props } : { id: "", props: {} };
  },
  // Like the official provider, destroy never deletes the image (pulumi-docker#588).
  async delete() {},
};

// ---------------------------------------------------------------- Network

function networkOutputs(inputs: Json, info: Json) {
  return {
    ...inputs,
    name: info.Name,
    driver: info.Driver,
    internal: info.Internal,
    attachable: info.Attachable,
    ipamDriver: info.IPAM?.Driver ?? "default",
    ipamConfigs: (info.IPAM?.Config ?? []).map((config: Json) => ({
      subnet: config.Subnet ?? "",
      gateway: config.Gateway ?? "",
      ipRange: config.IPRange ?? "",
      auxAddress: config.AuxiliaryAddresses ?? {},
    })),
    labels: inputs.labels ?? [],
    scope: info.Scope,
  };
}

const network = {
  async create(inputs: Json) {
    const created = await api("POST", "/networks/create", {
      Name: inputs.name,
      Driver: inputs.driver ?? "bridge",
      CheckDuplicate: true,
      Internal: inputs.internal ?? false,
      Attachable: inputs.attachable ?? false,
      Labels: labelMap(inputs.labels),
      Options: inputs.options ?? {},
      IPAM: inputs.ipamConfigs
        ? {
            Driver: inputs.ipamDriver ?? "default",
            Config: inputs.ipamConfigs.map((config: Json) => ({ Subnet: config.subnet, Gateway: config.gateway })),
          }
        : undefined,
    });
    const info = await api("GET", `/networks/${created.Id}`);
    return { id: created.Id as string, outs: recordInputs(networkOutputs(inputs, info), inputs) };
  },
  async read(id: string, props: Json) {
    const info = await inspectOrUndefined(`/networks/${id}`);
    return info ? { id, props: { ...props, ...networkOutputs(JSON.parse(props.__inputs ?? "{}"), info) } } : gone();
  },
  /**
   * dockerd frees a removed container's endpoint a moment after the removal
   * returns, so "has active endpoints" is retried for a while. Under heavy
   * load dockerd 20.10 can also keep a stale endpoint count for good
   * (moby/moby#42119); only an engine restart clears that, so say so.
   */
  async delete(id: string) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await api("DELETE", `/networks/${id}`).catch(ignoreNotFound);
        return;
      } catch (error) {
        const message = String((error as Error).message);
        if (!/has active endpoints/.test(message)) throw error;
        if (Date.now() > deadline) {
          const attached = Object.keys((await inspectOrUndefined(`/networks/${id}`))?.Containers ?? {});
          throw new Error(
            attached.length > 0
              ? `${message} (still attached: ${attached.join(", ")})`
              : `${message}, though no container is attached: dockerd kept a stale endpoint (moby/moby#42119). ` +
                  "Restart the engine (stop dockerd, then `npm run setup`) and run destroy again.",
          );
        }
        await sleep(500);
      }
    }
  },
};

// ---------------------------------------------------------------- Container

function ignoreNotFound(error: unknown) {
  if (!(error instanceof DockerError && error.status === 404)) throw error;
}

function gone() {
  return { id: "", props: {} };
}

function createBody(inputs: Json) {
  const ports: Json[] = inputs.ports ?? [];
  const advanced: Json[] = inputs.networksAdvanced ?? [];
  // Docker attaches one network at create time; that is all this program needs.
  const networkMode = inputs.networkMode ?? advanced[0]?.name ?? "bridge";
  const health = inputs.healthcheck;
  return {
    Image: inputs.image,
    Env: inputs.envs ?? [],
    User: inputs.user ?? "",
    Cmd: inputs.command,
    Entrypoint: inputs.entrypoints,
    Labels: labelMap(inputs.labels),
    ExposedPorts: Object.fromEntries(ports.map((port) => [`${port.internal}/${port.protocol ?? "tcp"}`, {}])),
    Healthcheck: health
      ? {
          Test: health.tests,
          Interval: nanos(health.interval),
          Timeout: nanos(health.timeout),
          StartPeriod: nanos(health.startPeriod),
          Retries: health.retries ?? 0,
        }
      : undefined,
    HostConfig: {
      NetworkMode: networkMode,
      PortBindings: Object.fromEntries(
        ports.map((port) => [
          `${port.internal}/${port.protocol ?? "tcp"}`,
          [{ HostIp: port.ip ?? "", HostPort: port.external === undefined ? "" : String(port.external) }],
        ]),
      ),
      RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
      ReadonlyRootfs: inputs.readOnly ?? false,
      Tmpfs: inputs.tmpfs,
      CapAdd: inputs.capabilities?.adds,
      CapDrop: inputs.capabilities?.drops,
      SecurityOpt: inputs.securityOpts,
      Privileged: inputs.privileged ?? false,
    },
    NetworkingConfig: advanced[0]
      ? { EndpointsConfig: { [advanced[0].name]: { Aliases: advanced[0].aliases ?? [] } } }
      : undefined,
  };
}

function containerOutputs(inputs: Json, info: Json) {
  const networks = info.NetworkSettings?.Networks ?? {};
  return {
    ...inputs,
    name: String(info.Name ?? "").replace(/^\//, ""),
    hostname: info.Config?.Hostname ?? "",
    networkDatas: Object.entries(networks)
      .map(([networkName, data]: [string, Json]) => ({
        networkName,
        ipAddress: data.IPAddress ?? "",
        ipPrefixLength: data.IPPrefixLen ?? 0,
        gateway: data.Gateway ?? "",
        macAddress: data.MacAddress ?? "",
        globalIpv6Address: data.GlobalIPv6Address ?? "",
        globalIpv6PrefixLength: data.GlobalIPv6PrefixLen ?? 0,
        ipv6Gateway: data.IPv6Gateway ?? "",
      }))
      .sort((a, b) => a.networkName.localeCompare(b.networkName)),
    running: Boolean(info.State?.Running),
    exitCode: info.State?.ExitCode ?? 0,
  };
}

/** Starts the container and, with `wait`, waits until its healthcheck passes. */
async function startAndWait(id: string, inputs: Json): Promise<Json> {
  await api("POST", `/containers/${id}/start`).catch((error) => {
    // 304: already running.
    if (!(error instanceof DockerError && error.status === 304)) throw error;
  });
  const deadline = Date.now() + (inputs.waitTimeout ?? 60) * 1000;
  for (;;) {
    const info = await api("GET", `/containers/${id}/json`);
    const health = info.State?.Health?.Status;
    if (!info.State?.Running && info.State?.Status === "exited") {
      throw new Error(`container ${inputs.name} exited with code ${info.State.ExitCode}`);
    }
    if (!inputs.wait || health === undefined || health === "healthy") return info;
    // "unhealthy" can pass: on a busy machine a check may time out and the next one succeed.
    if (Date.now() > deadline) {
      const last = info.State.Health.Log?.at(-1)?.Output?.trim() ?? "";
      throw new Error(`container ${inputs.name} is ${health} after ${inputs.waitTimeout ?? 60}s: ${last}`);
    }
    await sleep(200);
  }
}

async function removeContainer(id: string, graceSeconds: number) {
  await api("POST", `/containers/${id}/stop?t=${graceSeconds}`).catch((error) => {
    if (!(error instanceof DockerError && (error.status === 304 || error.status === 404))) throw error;
  });
  await api("DELETE", `/containers/${id}?force=true&v=true`).catch(ignoreNotFound);
}

const container = {
  async create(inputs: Json) {
    const created = await api("POST", `/containers/create?name=${encodeURIComponent(inputs.name)}`, createBody(inputs));
    try {
      const info = await startAndWait(created.Id, inputs);
      return { id: created.Id as string, outs: recordInputs(containerOutputs(inputs, info), inputs) };
    } catch (error) {
      // Never leave a container behind in "Created" (the tutorial's port clash did).
      await api("DELETE", `/containers/${created.Id}?force=true&v=true`).catch(() => undefined);
      throw new Error(`container ${inputs.name} could not start: ${(error as Error).message}`);
    }
  },
  async read(id: string, props: Json) {
    const info = await inspectOrUndefined(`/containers/${id}/json`);
    if (!info) return gone();
    return { id, props: { ...props, ...containerOutputs(JSON.parse(props.__inputs ?? "{}"), info) } };
  },
  /** Only reached when a refresh found the container stopped and mustRun asks for it running. */
  async update(id: string, news: Json) {
    const info = await startAndWait(id, news);
    return { outs: recordInputs(containerOutputs(news, info), news) };
  },
  async delete(id: string, props: Json) {
    await removeContainer(id, props.destroyGraceSeconds ?? 10);
  },
};

// ---------------------------------------------------------------- Provider

const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";
const IMAGE = "docker:index/image:Image";

function unsupported(urn: string): never {
  throw new Error(`the stand-in docker plugin does not implement ${typeOf(urn)}`);
}

const dockerProvider: provider.Provider = {
  version: VERSION,
  async check(urn, _olds, news) {
    return typeOf(urn) === IMAGE ? image.check(news) : { inputs: news };
  },
  async diff(_id, urn, olds, news) {
    const changed = changedKeys(olds, news);
    if (typeOf(urn) === CONTAINER && olds.running === false && news.mustRun !== false && changed.length === 0) {
      // Stopped behind our back: an update starts it again.
      return { changes: true };
    }
    // Every input of these types needs a new object in Docker.
    return { changes: changed.length > 0, replaces: changed, deleteBeforeReplace: typeOf(urn) !== IMAGE };
  },
  async create(urn, inputs) {
    switch (typeOf(urn)) {
      case CONTAINER:
        return container.create(inputs);
      case NETWORK:
        return network.create(inputs);
      case IMAGE:
        return image.create(inputs);
      default:
        return unsupported(urn);
    }
  },
  async read(id, urn, props) {
    switch (typeOf(urn)) {
      case CONTAINER:
        return container.read(id, props);
      case NETWORK:
        return network.read(id, props);
      case IMAGE:
        return image.read(id, props);
      default:
        return unsupported(urn);
    }
  },
  async update(id, urn, _olds, news) {
    if (typeOf(urn) !== CONTAINER) unsupported(urn);
    return container.update(id, news);
  },
  async delete(id, urn, props) {
    switch (typeOf(urn)) {
      case CONTAINER:
        return container.delete(id, props);
      case NETWORK:
        return network.delete(id);
      case IMAGE:
        return image.delete();
      default:
        return unsupported(urn);
    }
  },
};

provider.main(dockerProvider, process.argv.slice(2));
