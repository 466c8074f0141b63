import type { Docker } from "../../src/probes/docker";
import { DockerError } from "../../src/probes/docker";
import { main } from "../../src/probes/removeImage";

/**
 * src/probes/removeImage.ts, what destroy runs for the image, against a fake
 * docker: which calls it makes in each mode, and what it says when it fails.
 */

const OURS = ["--filter", "label=flask-bridge.project=flask-bridge", "--filter", "label=flask-bridge.stack=dev"];

/** A fake docker answering by the call's first two words; every call is recorded. */
function fakeDocker(answers: Record<string, string | DockerError>): { docker: Docker; calls: string[][] } {
  const calls: string[][] = [];
  const docker: Docker = async (args) => {
    calls.push([...args]);
    const answer = answers[args.slice(0, 2).join(" ")] ?? "";
    if (answer instanceof DockerError) throw answer;
    return answer;
  };
  return { docker, calls };
}

async function run(env: Record<string, string>, docker: Docker) {
  const errors: string[] = [];
  const code = await main(
    env,
    () => undefined,
    (text) => errors.push(text),
    docker,
  );
  return { code, errors };
}

describe("removeImage", () => {
  it("untagged: removes the image, then prunes the stack's untagged builds", async () => {
    const { docker, calls } = fakeDocker({});
    expect(await run({ IMAGE: "flask-hello-world", STACK: "dev", REMOVE: "untagged" }, docker)).toEqual({
      code: 0,
      errors: [],
    });
    expect(calls).toEqual([
      ["image", "rm", "flask-hello-world"],
      ["image", "prune", "--force", ...OURS],
    ]);
  });

  it("all: removes every build of the stack by its labels, each ID once, and asks nothing more when none is left", async () => {
    const many = fakeDocker({ "image ls": "sha256:a\nsha256:b\nsha256:a\n" });
    expect((await run({ IMAGE: "127.0.0.1:5000/app", STACK: "dev", REMOVE: "all" }, many.docker)).code).toBe(0);
    expect(many.calls).toEqual([
      ["image", "rm", "127.0.0.1:5000/app"],
      ["image", "ls", "--quiet", ...OURS],
      ["image", "rm", "--force", "sha256:a", "sha256:b"],
    ]);
    const none = fakeDocker({});
    expect((await run({ IMAGE: "127.0.0.1:5000/app", STACK: "dev", REMOVE: "all" }, none.docker)).code).toBe(0);
    expect(none.calls.map((call) => call.slice(0, 2).join(" "))).toEqual(["image rm", "image ls"]);
  });

  it("takes an image already gone as removed", async () => {
    const gone = new DockerError("docker image rm: No such image: flask-hello-world:latest");
    const { docker, calls } = fakeDocker({
      "image rm": gone,
      "image inspect": new DockerError("docker image inspect: No such image"),
    });
    expect((await run({ IMAGE: "flask-hello-world", STACK: "dev", REMOVE: "untagged" }, docker)).code).toBe(0);
    expect(calls.map((call) => call[1])).toEqual(["rm", "inspect", "prune"]);
  });

  it("fails in one line naming the image and docker's cause when the image is still there", async () => {
    const { docker } = fakeDocker({
      "image rm": new DockerError("docker image rm: conflict: unable to remove repository reference (must force)"),
    });
    expect(await run({ IMAGE: "flask-hello-world", STACK: "dev", REMOVE: "untagged" }, docker)).toEqual({
      code: 1,
      errors: [
        "could not remove the image flask-hello-world: docker image rm: conflict: unable to remove repository reference (must force)\n",
      ],
    });
  });

  it("refuses to run without its environment, naming what it got", async () => {
    const { docker, calls } = fakeDocker({});
    expect(await run({ IMAGE: "x", STACK: "dev", REMOVE: "some" }, docker)).toEqual({
      code: 2,
      errors: ['removeImage: needs IMAGE, STACK and REMOVE (untagged or all), not "x", "dev" and "some"\n'],
    });
    expect(calls).toEqual([]);
  });
});
