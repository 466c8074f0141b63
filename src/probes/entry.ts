/** A probe's entry point: the process's environment and streams in, its exit code out. */
export type ProbeMain = (
  env: NodeJS.ProcessEnv,
  stdout: (text: string) => void,
  stderr: (text: string) => void,
) => Promise<number>;

/** Runs main when the probe's file is the process's entry (`node --require tsx/cjs <file>`), not when a test imports it. */
export function runAsEntry(probeModule: NodeModule, main: ProbeMain): void {
  if (require.main !== probeModule) return;
  main(
    process.env,
    (text) => process.stdout.write(text),
    (text) => process.stderr.write(text),
  ).then((code) => {
    process.exitCode = code;
  });
}
