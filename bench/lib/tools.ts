import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../tests/e2e/harness";
import { layout } from "./project";
import { type RunResult, run } from "./util";

/** The tutorial's image (Flask dev server, `python app.py`) or this project's (uWSGI, app/). */
export type ImageKind = "theirs" | "ours";

export const IMAGES: Record<ImageKind, string> = {
  theirs: "flask-bridge-bench-tutorial",
  ours: "flask-bridge-bench-ours",
};

const TUTORIAL_SH = path.join(REPO_ROOT, "bench", "tutorial.sh");
export const TUTORIAL_PORT = 25000;
export const COMPOSE_PORT = 26000;

export interface Tool {
  /** "tutorial (ours)", ... */
  name: string;
  kind: "tutorial" | "compose" | "terraform";
  image: ImageKind;
  port: number;
  up(containers: number): Promise<RunResult>;
  down(containers: number): Promise<RunResult>;
}

/**
 * bench/tutorial.sh: the tutorial's commands one after the other. With our
 * image it stops as the project does (`docker stop`, SIGTERM, up to 10 s);
 * with theirs as the tutorial does (`docker rm -f`: `python app.py` as PID 1
 * ignores SIGTERM and would wait out the 10 s).
 */
export function tutorial(image: ImageKind, signal: AbortSignal): Tool {
  const env = (containers: number) => ({
    ...process.env,
    COUNT: String(containers),
    TUTORIAL_IMAGE: IMAGES[image],
    ...(image === "ours" ? { CONTEXT: path.join(REPO_ROOT, "app"), STOP: "graceful" } : { STOP: "kill" }),
  });
  return {
    name: `tutorial (${image})`,
    kind: "tutorial",
    image,
    port: TUTORIAL_PORT,
    up: (n) => run("bash", [TUTORIAL_SH, "up"], { env: env(n), signal }),
    down: (n) => run("bash", [TUTORIAL_SH, "down"], { env: env(n), signal }),
  };
}

/** `docker build` of the image with the tutorial's classic builder (a cache hit once built). */
export function buildImage(image: ImageKind): Promise<unknown> {
  const env = {
    ...process.env,
    TUTORIAL_IMAGE: IMAGES[image],
    ...(image === "ours" ? { CONTEXT: path.join(REPO_ROOT, "app") } : {}),
  };
  return run("bash", [TUTORIAL_SH, "build"], { env });
}

/** The tutorial's topology as a Compose file of that size (docker-compose 1.29 reads JSON as YAML). */
function composeFile(image: ImageKind, containers: number): string {
  const { bridge, custom } = layout(containers);
  const app = { image: IMAGES[image], labels: { "flask-bridge.bench": "compose" } };
  const services: Record<string, object> = {};
  for (let i = 1; i <= bridge; i++) {
    services[`bridge-${i}`] = {
      ...app,
      container_name: `bench-compose-bridge-${i}`,
      network_mode: "bridge",
      ports: [`127.0.0.1:${COMPOSE_PORT + i}:5000`],
    };
  }
  for (let i = 1; i <= custom; i++) {
    services[`custom-${i}`] = {
      ...app,
      container_name: `bench-compose-custom-${i}`,
      networks: ["custom"],
      ports: [`127.0.0.1:${COMPOSE_PORT + bridge + i}:5000`],
    };
  }
  services.host = {
    ...app,
    container_name: "bench-compose-host",
    network_mode: "host",
    environment: { PORT: String(COMPOSE_PORT), HOST: "127.0.0.1" },
  };
  services.none = { ...app, container_name: "bench-compose-none", network_mode: "none" };
  const file = path.join(os.tmpdir(), `flask-bridge-bench-compose-${image}-${containers}.yaml`);
  const networks = { custom: { name: "bench-compose-network", labels: { "flask-bridge.bench": "compose" } } };
  fs.writeFileSync(file, JSON.stringify({ version: "3.8", services, networks }, null, 1));
  return file;
}

/**
 * docker-compose up -d / down. With our image, down keeps Compose's default
 * 10 s stop timeout (graceful, as the project); with theirs `--timeout 0`.
 */
export function compose(image: ImageKind, signal: AbortSignal): Tool {
  const args = (n: number) => ["-p", "bench-compose", "-f", composeFile(image, n)];
  return {
    name: `Compose (${image})`,
    kind: "compose",
    image,
    port: COMPOSE_PORT,
    up: (n) => run("docker-compose", [...args(n), "up", "-d"], { signal }),
    down: (n) =>
      run("docker-compose", [...args(n), "down", ...(image === "theirs" ? ["--timeout", "0"] : [])], { signal }),
  };
}
